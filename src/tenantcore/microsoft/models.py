"""Typed views of the Microsoft objects TenantCore reads: only the fields it uses.

Exchange objects arrive PascalCase with OData annotations (ignored); Graph objects camelCase.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

# Exchange prints an unset multi-valued property as null; we read it as an empty list.
StrList = Annotated[list[str], BeforeValidator(lambda value: [] if value is None else value)]


class _Exchange(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)


class _Graph(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)


class OrganizationConfig(_Exchange):
    name: str | None = Field(default=None, alias="Name")
    display_name: str | None = Field(default=None, alias="DisplayName")
    is_dehydrated: bool = Field(alias="IsDehydrated")


class TransportConfig(_Exchange):
    smtp_client_authentication_disabled: bool = Field(alias="SmtpClientAuthenticationDisabled")


class Mailbox(_Exchange):
    guid: str = Field(alias="Guid")
    external_directory_object_id: str = Field(alias="ExternalDirectoryObjectId")
    name: str = Field(alias="Name")
    alias: str = Field(alias="Alias")
    display_name: str = Field(alias="DisplayName")
    primary_smtp_address: str = Field(alias="PrimarySmtpAddress")
    user_principal_name: str = Field(alias="UserPrincipalName")
    recipient_type_details: str = Field(alias="RecipientTypeDetails")
    email_addresses: StrList = Field(default_factory=list, alias="EmailAddresses")
    account_disabled: bool | None = Field(default=None, alias="AccountDisabled")


class CasMailbox(_Exchange):
    primary_smtp_address: str | None = Field(default=None, alias="PrimarySmtpAddress")
    smtp_client_authentication_disabled: bool | None = Field(
        default=None, alias="SmtpClientAuthenticationDisabled"
    )


class DistributionGroup(_Exchange):
    guid: str = Field(alias="Guid")
    name: str = Field(alias="Name")
    primary_smtp_address: str = Field(alias="PrimarySmtpAddress")
    group_type: str | None = Field(default=None, alias="GroupType")


class GroupMember(_Exchange):
    name: str | None = Field(default=None, alias="Name")
    primary_smtp_address: str = Field(alias="PrimarySmtpAddress")


class TransportRule(_Exchange):
    guid: str | None = Field(default=None, alias="Guid")
    name: str = Field(alias="Name")
    priority: int = Field(alias="Priority")
    state: str | None = Field(default=None, alias="State")
    mode: str | None = Field(default=None, alias="Mode")
    from_member_of: StrList = Field(default_factory=list, alias="FromMemberOf")
    reject_message_reason_text: str | None = Field(default=None, alias="RejectMessageReasonText")
    reject_message_enhanced_status_code: str | None = Field(
        default=None, alias="RejectMessageEnhancedStatusCode"
    )


class OutboundSpamPolicy(_Exchange):
    name: str = Field(alias="Name")
    is_default: bool = Field(default=False, alias="IsDefault")
    recipient_limit_per_day: int = Field(alias="RecipientLimitPerDay")
    recipient_limit_external_per_hour: int = Field(default=0, alias="RecipientLimitExternalPerHour")
    recipient_limit_internal_per_hour: int = Field(default=0, alias="RecipientLimitInternalPerHour")
    action_when_threshold_reached: str = Field(alias="ActionWhenThresholdReached")
    auto_forwarding_mode: str = Field(default="Automatic", alias="AutoForwardingMode")


class OutboundSpamRule(_Exchange):
    name: str = Field(alias="Name")
    policy: str = Field(alias="HostedOutboundSpamFilterPolicy")
    priority: int = Field(alias="Priority")
    state: str | None = Field(default=None, alias="State")
    sender_from: StrList = Field(default_factory=list, alias="From")
    from_member_of: StrList = Field(default_factory=list, alias="FromMemberOf")
    sender_domain_is: StrList = Field(default_factory=list, alias="SenderDomainIs")


class BlockedSender(_Exchange):
    sender_address: str = Field(alias="SenderAddress")
    reason: str | None = Field(default=None, alias="Reason")
    created: datetime | None = Field(default=None, alias="CreatedDatetime")


class AcceptedDomain(_Exchange):
    domain_name: str = Field(alias="DomainName")
    domain_type: str | None = Field(default=None, alias="DomainType")
    default: bool = Field(default=False, alias="Default")


class DkimSigningConfig(_Exchange):
    """A custom domain's DKIM keys in Exchange; mail is signed with them once `enabled`."""

    domain: str = Field(alias="Domain")
    enabled: bool = Field(alias="Enabled")
    # `Valid`, `CnameMissing` or `NoDKIMKeys`.
    status: str | None = Field(default=None, alias="Status")
    selector1_cname: str | None = Field(default=None, alias="Selector1CNAME")
    selector2_cname: str | None = Field(default=None, alias="Selector2CNAME")


class MessageTraceRow(_Exchange):
    received: datetime = Field(alias="Received")
    sender_address: str = Field(alias="SenderAddress")
    recipient_address: str = Field(alias="RecipientAddress")
    status: str = Field(alias="Status")
    message_id: str | None = Field(default=None, alias="MessageId")
    message_trace_id: str | None = Field(default=None, alias="MessageTraceId")
    subject: str | None = Field(default=None, alias="Subject")


class GraphUser(_Graph):
    id: str
    user_principal_name: str = Field(alias="userPrincipalName")
    display_name: str | None = Field(default=None, alias="displayName")
    mail: str | None = None
    mail_nickname: str | None = Field(default=None, alias="mailNickname")
    account_enabled: bool | None = Field(default=None, alias="accountEnabled")


class Domain(_Graph):
    id: str
    is_verified: bool = Field(alias="isVerified")
    is_default: bool = Field(default=False, alias="isDefault")
    is_initial: bool = Field(default=False, alias="isInitial")
    supported_services: StrList = Field(default_factory=list, alias="supportedServices")


class DnsRecord(_Graph):
    """A record Microsoft asks the customer to publish (verification or service config)."""

    record_type: str = Field(alias="recordType")
    label: str
    ttl: int = 3600
    text: str | None = None
    mail_exchange: str | None = Field(default=None, alias="mailExchange")
    preference: int | None = None
    canonical_name: str | None = Field(default=None, alias="canonicalName")
    supported_service: str | None = Field(default=None, alias="supportedService")
    is_optional: bool = Field(default=False, alias="isOptional")


class ConditionalAccessUsers(_Graph):
    include_users: StrList = Field(default_factory=list, alias="includeUsers")
    exclude_users: StrList = Field(default_factory=list, alias="excludeUsers")
    include_groups: StrList = Field(default_factory=list, alias="includeGroups")
    exclude_groups: StrList = Field(default_factory=list, alias="excludeGroups")
    include_roles: StrList = Field(default_factory=list, alias="includeRoles")
    exclude_roles: StrList = Field(default_factory=list, alias="excludeRoles")


class ConditionalAccessApplications(_Graph):
    include_applications: StrList = Field(default_factory=list, alias="includeApplications")
    exclude_applications: StrList = Field(default_factory=list, alias="excludeApplications")


class ConditionalAccessConditions(_Graph):
    client_app_types: StrList = Field(default_factory=list, alias="clientAppTypes")
    applications: ConditionalAccessApplications | None = None
    users: ConditionalAccessUsers | None = None


class ConditionalAccessGrant(_Graph):
    built_in_controls: StrList = Field(default_factory=list, alias="builtInControls")


class ConditionalAccessPolicy(_Graph):
    """The parts of a Conditional Access policy that decide a legacy-authentication sign-in."""

    id: str
    display_name: str = Field(alias="displayName")
    # `enabled`, `disabled` or `enabledForReportingButNotEnforced`.
    state: str
    conditions: ConditionalAccessConditions
    grant_controls: ConditionalAccessGrant | None = Field(default=None, alias="grantControls")


class ServicePlanStatus(_Graph):
    service_plan_name: str = Field(alias="servicePlanName")
    provisioning_status: str | None = Field(default=None, alias="provisioningStatus")


class CompanySubscription(_Graph):
    """A commercial subscription of the tenant (`/directory/subscriptions`): its licenses and
    the service plans they carry."""

    id: str
    sku_part_number: str | None = Field(default=None, alias="skuPartNumber")
    is_trial: bool = Field(default=False, alias="isTrial")
    # `Enabled`, `Warning` (grace period: still working), `Suspended`, `LockedOut`, `Deleted`.
    status: str | None = None
    total_licenses: int = Field(default=0, alias="totalLicenses")
    service_status: list[ServicePlanStatus] = Field(default_factory=list, alias="serviceStatus")


class ServicePrincipal(_Graph):
    """An application's service principal in the tenant (Graph): `id` is its object id."""

    id: str
    app_id: str = Field(alias="appId")
    display_name: str | None = Field(default=None, alias="displayName")


class ExchangeServicePrincipal(_Exchange):
    """Exchange's reference to an Entra service principal (New-ServicePrincipal)."""

    app_id: str = Field(alias="AppId")
    object_id: str = Field(alias="ObjectId")
    display_name: str | None = Field(default=None, alias="DisplayName")


class MailboxPermission(_Exchange):
    user: str = Field(alias="User")
    access_rights: StrList = Field(default_factory=list, alias="AccessRights")
    deny: bool = Field(default=False, alias="Deny")
