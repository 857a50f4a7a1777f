"""Contract tests: the Exchange host's responses against the wire reference's examples.

The examples below are the reference's captures (microsoft-365-wire.md 3.3, 3.6, 4.3.1, 4.8)
reduced to what a client relies on. Each response is compared by shape: the same keys, with the
same JSON types, the same OData annotations, and the same text formats for GUIDs and DateTimes.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.conftest import SandboxHarness, SandboxTenant
from tests.sandbox.test_exchange_support import add_domain, add_trace, sandbox_now, values

GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}\+00:00$")
DATETIME_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$")

# wire reference 3.3: the captured Get-Mailbox row (values as captured, contoso data).
MAILBOX_EXAMPLE: dict[str, Any] = {
    "Database": "EURPR07DG224-db024",
    "ExchangeGuid@data.type": "System.Guid",
    "ExchangeGuid@odata.type": "#Guid",
    "ExchangeGuid": "2be92a50-7cc5-4a40-8471-b7ce9c2e3426",
    "RecipientLimits": "500",
    "IsShared": False,
    "ProhibitSendQuota": "99 GB (106,300,440,576 bytes)",
    "UserPrincipalName": "c@contoso.com",
    "WindowsLiveID": "c@contoso.com",
    "MicrosoftOnlineServicesID": "c@contoso.com",
    "ForwardingSmtpAddress": None,
    "WhenMailboxCreated@data.type": "System.DateTime",
    "WhenMailboxCreated": "2022-09-21T08:07:47.0000000+00:00",
    "AccountDisabled": False,
    "Alias": "CBergin",
    "DisplayName": "Calvin",
    "EmailAddresses@odata.type": "#Collection(String)",
    "EmailAddresses": ["smtp:c@contoso.onmicrosoft.com", "SMTP:c@contoso.com"],
    "ExternalDirectoryObjectId": "7cdbe897-3c7f-4fb6-a369-56408d68081f",
    "HiddenFromAddressListsEnabled": False,
    "MaxSendSize": "35 MB (36,700,160 bytes)",
    "PrimarySmtpAddress": "c@contoso.com",
    "RecipientType": "UserMailbox",
    "RecipientTypeDetails": "UserMailbox",
    "Identity": "CBergin",
    "Id": "CBergin",
    "Name": "CBergin",
    "IsValid": True,
    "WhenCreated@data.type": "System.DateTime",
    "WhenCreated": "2022-06-29T17:57:03.0000000+00:00",
    "WhenCreatedUTC@data.type": "System.DateTime",
    "WhenCreatedUTC": "2022-06-29T17:57:03.0000000Z",
    "ExchangeObjectId@data.type": "System.Guid",
    "ExchangeObjectId@odata.type": "#Guid",
    "ExchangeObjectId": "2700871c-b807-4dc1-9887-1d1c93ecd5b5",
    "OrganizationId": "EURPR07A013.PROD.OUTLOOK.COM/Microsoft Exchange Hosted Organizations/...",
    "Guid@data.type": "System.Guid",
    "Guid@odata.type": "#Guid",
    "Guid": "9feb45ad-0cc9-43dc-a609-2110e2216c15",
}

# wire reference 3.6, shape A (a proxied 404).
SHAPE_A: dict[str, Any] = {
    "error": {
        "code": "NotFound",
        "message": "Error executing cmdlet",
        "details": [
            {
                "code": "Client",
                "target": "",
                "message": "Ex6F9304|Microsoft.Exchange.Configuration.Tasks."
                "ManagementObjectNotFoundException|The operation couldn't be performed because"
                " object 'x@contoso.onmicrosoft.com' couldn't be found on 'YQB...'.",
            }
        ],
        "innererror": {
            "message": "Error executing cmdlet",
            "type": "Microsoft.Exchange.Admin.OData.Core.ODataServiceException",
            "stacktrace": "...",
            "internalexception": {
                "message": "Exception of type 'Microsoft.Exchange.Management.PSDirectInvoke."
                "DirectInvokeCmdletExecutionException' was thrown.",
                "type": "Microsoft.Exchange.Management.PSDirectInvoke."
                "DirectInvokeCmdletExecutionException",
                "stacktrace": "...",
            },
        },
    },
    "adminapi.warnings@odata.type": "#Collection(String)",
    "@adminapi.warnings": [],
}

# wire reference 3.6, shape B (unknown parameter), pinned from a live tenant.
SHAPE_B: dict[str, Any] = {
    "error": {
        "code": "BadRequest",
        "message": "Invalid Operation",
        "details": [
            {
                "code": "Client",
                "target": "",
                "message": "|Microsoft.Exchange.AdminApi.CommandInvocation."
                "AmbiguousParameterSetException|Parameter set cannot be resolved using the"
                " specified named parameters. Invalid cmdlet parameters specified. BogusParameter",
            }
        ],
        "innererror": {
            "message": "Invalid Operation",
            "type": "Microsoft.Exchange.Admin.OData.Core.ODataServiceException",
            "stacktrace": "",
            "internalexception": {
                "message": "Parameter set cannot be resolved using the specified named"
                " parameters. Invalid cmdlet parameters specified. BogusParameter",
                "type": "Microsoft.Exchange.AdminApi.CommandInvocation."
                "AmbiguousParameterSetException",
                "stacktrace": "",
            },
        },
    }
}

# wire reference 3.6, shape B's second variant (invalid enum: no details).
SHAPE_B_ENUM: dict[str, Any] = {
    "error": {
        "code": "BadRequest",
        "message": "Invalid Operation",
        "innererror": {
            "message": "Invalid Operation",
            "type": "Microsoft.Exchange.Admin.OData.Core.ODataServiceException",
            "stacktrace": "",
            "internalexception": {
                "message": "Cannot process argument transformation on parameter ...",
                "type": "Microsoft.Exchange.AdminApi.CommandInvocation."
                "ParameterTransformationException",
                "stacktrace": "",
            },
        },
        "adminapi.warnings@odata.type": "#Collection(String)",
        "@adminapi.warnings": [],
    }
}

# wire reference 3.6, shape C (JSON-in-string detail).
SHAPE_C: dict[str, Any] = {
    "error": {
        "code": "BadRequest",
        "message": "Error executing cmdlet",
        "details": [{"code": "Context", "target": "", "message": "{...}"}],
        "innererror": {"message": "Error executing cmdlet", "type": "ODataServiceException"},
    }
}

# wire reference 4.8: the expected Get-MessageTraceV2 row.
TRACE_EXAMPLE: dict[str, Any] = {
    "Received@data.type": "System.DateTime",
    "Received": "2026-03-01T09:12:44.1234567Z",
    "SenderAddress": "sdr1@outreach-example.com",
    "RecipientAddress": "lead@prospect.com",
    "Subject": "Quick question",
    "Status": "Delivered",
    "FromIP": "203.0.113.5",
    "ToIP": "198.51.100.20",
    "Size": 20480,
    "MessageId": "<abc@outreach-example.com>",
    "MessageTraceId@data.type": "System.Guid",
    "MessageTraceId": "0d4f1b8e-...",
}


def shape(value: Any) -> Any:
    """A value's structure: keys and JSON types, not contents."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


def assert_same_shape(ours: dict[str, Any], example: dict[str, Any], *, exact: bool) -> None:
    if exact:
        assert shape(ours) == shape(example)
    else:
        missing = example.keys() - ours.keys()
        assert not missing, f"missing keys: {sorted(missing)}"
        for key, value in example.items():
            if value is None or ours[key] is None:
                continue
            assert shape(ours[key]) == shape(value), key


@pytest.fixture
def tenant(sandbox: SandboxHarness) -> SandboxTenant:
    created = sandbox.create_tenant()
    add_domain(sandbox, created, "contoso.example")
    return created


def test_success_envelope(sandbox: SandboxHarness, tenant: SandboxTenant) -> None:
    response = sandbox.invoke(sandbox.exchange(tenant), "Get-AcceptedDomain")
    body = response.json()
    assert list(body) == [
        "@odata.context",
        "adminapi.warnings@odata.type",
        "@adminapi.warnings",
        "value",
    ]
    assert body["@odata.context"] == (
        f"{sandbox.url}/adminapi/beta/{tenant.tenant_id}"
        "/$metadata#Collection(Exchange.GenericHashTable)"
    )
    assert body["adminapi.warnings@odata.type"] == "#Collection(String)"
    assert body["@adminapi.warnings"] == []


def test_set_cmdlets_answer_an_empty_value_array(
    sandbox: SandboxHarness, tenant: SandboxTenant
) -> None:
    response = sandbox.invoke(
        sandbox.exchange(tenant), "Set-TransportConfig", SmtpClientAuthenticationDisabled=False
    )
    assert response.json()["value"] == []


def test_mailbox_rows_match_the_capture(sandbox: SandboxHarness, tenant: SandboxTenant) -> None:
    client = sandbox.exchange(tenant)
    created = values(
        sandbox.invoke(
            client,
            "New-Mailbox",
            Shared=True,
            Name="sdr1-contoso",
            Alias="sdr1-contoso",
            DisplayName="Jane",
            PrimarySmtpAddress="sdr1@contoso.example",
        )
    )[0]
    listed = values(sandbox.invoke(client, "Get-Mailbox", Identity="sdr1@contoso.example"))[0]
    for row in (created, listed):
        assert_same_shape(row, MAILBOX_EXAMPLE, exact=False)
        for name in ("ExchangeGuid", "ExchangeObjectId", "Guid", "ExternalDirectoryObjectId"):
            assert GUID.match(row[name]), name
        assert DATETIME.match(row["WhenCreated"])
        assert DATETIME.match(row["WhenMailboxCreated"])
        assert DATETIME_UTC.match(row["WhenCreatedUTC"])
        assert re.match(r"^\d[\d.]* [KMG]B \([\d,]+ bytes\)$", row["MaxSendSize"])
        # wire reference 4.3.1: what New-Mailbox -Shared returns.
        assert row["RecipientTypeDetails"] == "SharedMailbox"
        assert row["IsShared"] is True
        assert row["AccountDisabled"] is True


def test_shape_a_for_a_missing_object(sandbox: SandboxHarness, tenant: SandboxTenant) -> None:
    response = sandbox.invoke(sandbox.exchange(tenant), "Get-Mailbox", Identity="x@contoso.example")
    assert response.status_code == 404
    body = response.json()
    assert_same_shape(body, SHAPE_A, exact=True)
    assert body["error"]["innererror"]["type"] == SHAPE_A["error"]["innererror"]["type"]
    assert body["error"]["innererror"]["internalexception"] == {
        **SHAPE_A["error"]["innererror"]["internalexception"],
        "stacktrace": "",
    }
    detail = body["error"]["details"][0]["message"]
    assert re.match(
        r"^Ex[0-9A-F]{6}\|Microsoft\.Exchange\.Configuration\.Tasks\."
        r"ManagementObjectNotFoundException\|The operation couldn't be performed because object"
        r" 'x@contoso\.example' couldn't be found on '[A-Z0-9.]+'\.$",
        detail,
    )


def test_shape_b_for_an_unknown_parameter(sandbox: SandboxHarness, tenant: SandboxTenant) -> None:
    response = sandbox.invoke(sandbox.exchange(tenant), "Get-Mailbox", BogusParameter="x")
    assert response.status_code == 400
    assert response.json() == SHAPE_B


def test_shape_b_for_an_invalid_enum(sandbox: SandboxHarness, tenant: SandboxTenant) -> None:
    response = sandbox.invoke(
        sandbox.exchange(tenant), "Get-Mailbox", RecipientTypeDetails="Nonsense"
    )
    assert response.status_code == 400
    body = response.json()
    assert_same_shape(body, SHAPE_B_ENUM, exact=True)
    internal = body["error"]["innererror"]["internalexception"]
    assert internal["message"].startswith(
        "Cannot process argument transformation on parameter 'RecipientTypeDetails'. Cannot"
        ' convert value "Nonsense" to type'
    )
    assert "Specify one of the following enumerator names and try again: " in internal["message"]


def test_shape_c_when_configured(sandbox: SandboxHarness, tenant: SandboxTenant) -> None:
    sandbox.configure(exchange_error_detail_style="json")
    response = sandbox.invoke(
        sandbox.exchange(tenant), "Get-Mailbox", Identity="nobody@contoso.example"
    )
    assert response.status_code == 404
    body = response.json()
    assert_same_shape(body, SHAPE_C, exact=True)
    detail = json.loads(body["error"]["details"][0]["message"])
    assert detail == {
        "Message": detail["Message"],
        "TypeName": "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException",
        "StackTrace": None,
        "InnerError": None,
    }
    assert "'nobody@contoso.example' couldn't be found" in detail["Message"]


def test_forbidden_is_a_nul_body(sandbox: SandboxHarness, tenant: SandboxTenant) -> None:
    response = sandbox.invoke(sandbox.exchange(tenant), "Get-Nonexistent")
    assert response.status_code == 403
    assert response.headers["content-encoding"] == "gzip"
    assert response.content == b"\x00" * len(response.content)
    assert "content-type" not in response.headers


def test_trace_rows_match_the_reference(sandbox: SandboxHarness, tenant: SandboxTenant) -> None:
    now = sandbox_now(sandbox)
    add_trace(
        sandbox, tenant, sender="sdr1@contoso.example", recipient="lead@p.example", received=now
    )
    row = values(sandbox.invoke(sandbox.exchange(tenant), "Get-MessageTraceV2"))[0]
    row["ToIP"] = "198.51.100.20"  # the SMTP host records no destination IP
    assert_same_shape(row, TRACE_EXAMPLE, exact=False)
    assert DATETIME_UTC.match(row["Received"])
    assert GUID.match(row["MessageTraceId"])
