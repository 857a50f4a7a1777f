"""The schema's own guarantees: slots, CHECKs, uniqueness, cascades, on both databases."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tenantcore.core.db import unit_of_work
from tenantcore.domains.models import Domain
from tenantcore.enforcement.models import TENANT_WIDE_SCOPE, EnforcementEvent, EnforcementPolicy
from tenantcore.mailboxes.models import Mailbox
from tenantcore.tenants.models import Tenant
from tests.db.seed import add_domain, new_mailbox

SessionMaker = async_sessionmaker[AsyncSession]


async def domain_with_mailboxes(sessionmaker: SessionMaker, count: int) -> Domain:
    async with unit_of_work(sessionmaker) as session:
        domain = await add_domain(session)
        session.add_all(new_mailbox(domain, slot) for slot in range(1, count + 1))
    return domain


async def mailbox_count(sessionmaker: SessionMaker, domain: Domain) -> int:
    async with unit_of_work(sessionmaker, read_only=True) as session:
        count = await session.scalar(
            sa.select(sa.func.count()).select_from(Mailbox).where(Mailbox.domain_pk == domain.id)
        )
    return int(count or 0)


class TestMailboxSlots:
    async def test_three_mailboxes_fit(self, sessionmaker: SessionMaker) -> None:
        domain = await domain_with_mailboxes(sessionmaker, 3)
        assert await mailbox_count(sessionmaker, domain) == 3

    @pytest.mark.parametrize("slot", [1, 2, 3])
    async def test_fourth_mailbox_on_a_taken_slot_is_rejected(
        self, sessionmaker: SessionMaker, slot: int
    ) -> None:
        domain = await domain_with_mailboxes(sessionmaker, 3)
        with pytest.raises(IntegrityError):
            async with unit_of_work(sessionmaker) as session:
                session.add(new_mailbox(domain, slot))
        assert await mailbox_count(sessionmaker, domain) == 3

    @pytest.mark.parametrize("slot", [0, 4, -1])
    async def test_slot_outside_one_to_three_is_rejected(
        self, sessionmaker: SessionMaker, slot: int
    ) -> None:
        domain = await domain_with_mailboxes(sessionmaker, 3 if slot == 4 else 0)
        with pytest.raises(IntegrityError, match="slot_range"):
            async with unit_of_work(sessionmaker) as session:
                session.add(new_mailbox(domain, slot))

    async def test_duplicate_slot_is_rejected_even_with_free_slots(
        self, sessionmaker: SessionMaker
    ) -> None:
        domain = await domain_with_mailboxes(sessionmaker, 1)
        with pytest.raises(IntegrityError):
            async with unit_of_work(sessionmaker) as session:
                session.add(new_mailbox(domain, 1))
        assert await mailbox_count(sessionmaker, domain) == 1

    async def test_same_address_twice_on_a_tenant_is_rejected(
        self, sessionmaker: SessionMaker
    ) -> None:
        domain = await domain_with_mailboxes(sessionmaker, 0)
        with pytest.raises(IntegrityError):
            async with unit_of_work(sessionmaker) as session:
                session.add_all([new_mailbox(domain, s, local="sales") for s in (1, 2)])


class TestSendLimitChecks:
    @pytest.mark.parametrize("limit", [0, 26, -5])
    async def test_mailbox_limit_out_of_range_is_rejected(
        self, sessionmaker: SessionMaker, limit: int
    ) -> None:
        domain = await domain_with_mailboxes(sessionmaker, 0)
        with pytest.raises(IntegrityError, match="daily_send_limit_range"):
            async with unit_of_work(sessionmaker) as session:
                session.add(new_mailbox(domain, 1, daily_send_limit=limit))

    @pytest.mark.parametrize("limit", [None, 1, 25])
    async def test_mailbox_limit_in_range_or_unset_is_accepted(
        self, sessionmaker: SessionMaker, limit: int | None
    ) -> None:
        domain = await domain_with_mailboxes(sessionmaker, 0)
        async with unit_of_work(sessionmaker) as session:
            session.add(new_mailbox(domain, 1, daily_send_limit=limit))
        assert await mailbox_count(sessionmaker, domain) == 1

    @pytest.mark.parametrize("limit", [0, 26])
    async def test_policy_limit_out_of_range_is_rejected(
        self, sessionmaker: SessionMaker, limit: int
    ) -> None:
        domain = await domain_with_mailboxes(sessionmaker, 0)
        with pytest.raises(IntegrityError, match="daily_send_limit_range"):
            async with unit_of_work(sessionmaker) as session:
                session.add(
                    EnforcementPolicy(
                        tenant_pk=domain.tenant_pk,
                        domain_pk=domain.id,
                        scope_key=domain.domain_name,
                        daily_send_limit=limit,
                    )
                )


class TestEnforcementPolicyScope:
    def policy(self, domain: Domain, *, tenant_wide: bool) -> EnforcementPolicy:
        return EnforcementPolicy(
            tenant_pk=domain.tenant_pk,
            domain_pk=None if tenant_wide else domain.id,
            scope_key=TENANT_WIDE_SCOPE if tenant_wide else domain.domain_name,
            daily_send_limit=10,
        )

    async def test_one_tenant_wide_and_one_domain_policy_coexist(
        self, sessionmaker: SessionMaker
    ) -> None:
        domain = await domain_with_mailboxes(sessionmaker, 0)
        async with unit_of_work(sessionmaker) as session:
            session.add(self.policy(domain, tenant_wide=True))
            session.add(self.policy(domain, tenant_wide=False))

    async def test_second_tenant_wide_policy_is_rejected(self, sessionmaker: SessionMaker) -> None:
        domain = await domain_with_mailboxes(sessionmaker, 0)
        async with unit_of_work(sessionmaker) as session:
            session.add(self.policy(domain, tenant_wide=True))
        with pytest.raises(IntegrityError):
            async with unit_of_work(sessionmaker) as session:
                session.add(self.policy(domain, tenant_wide=True))

    async def test_scope_and_domain_must_agree(self, sessionmaker: SessionMaker) -> None:
        domain = await domain_with_mailboxes(sessionmaker, 0)
        mismatched = self.policy(domain, tenant_wide=True)
        mismatched.domain_pk = domain.id
        with pytest.raises(IntegrityError, match="scope_matches_domain"):
            async with unit_of_work(sessionmaker) as session:
                session.add(mismatched)


class TestEnumerations:
    async def test_unknown_tenant_status_is_rejected(self, sessionmaker: SessionMaker) -> None:
        domain = await domain_with_mailboxes(sessionmaker, 0)
        with pytest.raises(IntegrityError, match="ck_tenant_status"):
            async with unit_of_work(sessionmaker) as session:
                await session.execute(
                    sa.update(Tenant).where(Tenant.id == domain.tenant_pk).values(status="gone")
                )

    async def test_unknown_event_action_is_rejected(self, sessionmaker: SessionMaker) -> None:
        domain = await domain_with_mailboxes(sessionmaker, 0)
        with pytest.raises(IntegrityError, match="ck_enforcement_event_action"):
            async with unit_of_work(sessionmaker) as session:
                session.add(
                    EnforcementEvent(
                        tenant_pk=domain.tenant_pk,
                        mailbox_address="x@example.com",
                        action="paused",
                        sent_count=0,
                        message="",
                    )
                )


class TestCascades:
    async def test_deleting_a_mailbox_keeps_its_events(self, sessionmaker: SessionMaker) -> None:
        domain = await domain_with_mailboxes(sessionmaker, 1)
        async with unit_of_work(sessionmaker) as session:
            mailbox = await session.scalar(sa.select(Mailbox).where(Mailbox.domain_pk == domain.id))
            assert mailbox is not None
            event = EnforcementEvent(
                tenant_pk=domain.tenant_pk,
                mailbox_pk=mailbox.id,
                mailbox_address=mailbox.primary_smtp,
                action="blocked",
                sent_count=25,
                limit_value=25,
                message="cap reached",
            )
            session.add(event)
        async with unit_of_work(sessionmaker) as session:
            await session.execute(sa.delete(Mailbox).where(Mailbox.id == mailbox.id))
        async with unit_of_work(sessionmaker, read_only=True) as session:
            kept = await session.get_one(EnforcementEvent, event.id)
        assert kept.mailbox_pk is None
        assert kept.mailbox_address == mailbox.primary_smtp

    async def test_deleting_a_tenant_removes_its_domains_and_mailboxes(
        self, sessionmaker: SessionMaker
    ) -> None:
        domain = await domain_with_mailboxes(sessionmaker, 2)
        async with unit_of_work(sessionmaker) as session:
            await session.execute(sa.delete(Tenant).where(Tenant.id == domain.tenant_pk))
        assert await mailbox_count(sessionmaker, domain) == 0
        async with unit_of_work(sessionmaker, read_only=True) as session:
            assert await session.get(Domain, domain.id) is None
