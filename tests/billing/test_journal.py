"""The settlement journal (billing/journal.py): entries survive a round trip exactly, a torn last
line is skipped, done marks retire entries, and a live owner's file is never taken as orphaned."""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from lava_server.billing.journal import Journal, JournalEntry, orphan_files, read_entries
from lava_server.billing.plans import ForwardPlan, Outcome, SubCallUsage
from lava_server.billing.product_config import ProductConfig, Tier
from lava_server.billing.usage import Usage
from lava_server.store.merchants import MerchantKey
from lava_server.store.requests import RequestRecord


def _entry(rid: str = "req_test_1") -> JournalEntry:
    plan = ForwardPlan(
        merchant=MerchantKey("key_1", "mer_1", "Shop", "test"),
        connection_id="con_1",
        wallet_id="wal_1",
        product_id="prd_1",
        product=ProductConfig(rate_type="percentage", tiers=(Tier(0, Decimal("20"), "tokens_1m"),)),
        provider="openai",
        pricing_id="openai",
        managed=True,
        model="gpt-4o-mini",
        endpoint="POST https://api.openai.com/v1/chat/completions",
        metadata={"user": "u1"},
        prompt_tokens_estimate=20,
        max_output_tokens=100,
        connection_created_at=5,
        action="fetch",
        fetched_response_id="resp_1",
        token_form="customer",
        spend_key_id="spk_1",
    )
    record = RequestRecord(
        id=rid, merchant_id="mer_1", mode="test", status="pending", provider="openai",
        provider_key_type="managed", endpoint=plan.endpoint, created_at=7, connection_id="con_1",
        hold_units=12345, instance_id="ins_1", metadata_pairs={"user": "u1"},
    )  # fmt: skip
    outcome = Outcome(
        Usage(input_tokens=20, output_tokens=10, input_seconds=Decimal("1.5")),
        {"completion_tokens": 2**70},  # absurd provider numbers survive as they came
        "gpt-4o-mini",
        "chatcmpl-1",
        sub_calls=(SubCallUsage("claude", Usage(output_tokens=3)),),
    )
    return JournalEntry("settle", record, plan, outcome, None, 99)


def test_entry_round_trips_exactly(tmp_path: Path) -> None:
    j = Journal(tmp_path / "journal", "ins_a")
    j.open()
    entry = _entry()
    j.append(entry)
    assert j.outstanding == 1
    (back,) = j.entries()
    assert back.plan == entry.plan and back.record == entry.record and back.at == 99
    assert all(getattr(back.plan, f) == getattr(entry.plan, f) for f in vars(entry.plan))  # every field, typed
    assert back.outcome is not None and entry.outcome is not None
    assert back.outcome.usage == entry.outcome.usage and back.outcome.sub_calls == entry.outcome.sub_calls
    assert back.outcome.provider_usage == {"completion_tokens": 2**70}
    j.mark_done(entry.request_id)
    assert j.entries() == [] and j.outstanding == 0
    j.close()
    assert not j.path.exists()  # nothing outstanding: nothing left behind


def test_torn_line_is_skipped_and_done_marks_count(tmp_path: Path) -> None:
    j = Journal(tmp_path, "ins_b")
    j.open()
    j.append(_entry("req_test_1"))
    j.append(_entry("req_test_2"))
    j.mark_done("req_test_1")
    with j.path.open("ab") as fh:
        fh.write(b'{"v":1,"kind":"settle","request_id":"req_test_3","rec')  # a crash mid-write
    assert [e.request_id for e in read_entries(j.path)] == ["req_test_2"]


def test_live_owner_is_not_an_orphan(tmp_path: Path) -> None:
    mine = Journal(tmp_path, "ins_mine")
    mine.open()
    code = (
        "import sys, time; from pathlib import Path; from lava_server.billing.journal import Journal;"
        "j = Journal(Path(sys.argv[1]), 'ins_other'); j.open();"
        "print('ready', flush=True); time.sleep(30)"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    other = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert other.stdout is not None and other.stdout.readline().strip() == "ready"
        assert orphan_files(tmp_path, mine.path) == []  # locked by a live process
        other.kill()
        other.wait(timeout=10)
        assert orphan_files(tmp_path, mine.path) == [tmp_path / "ins_other.jsonl"]  # its owner is gone
    finally:
        if other.poll() is None:
            other.kill()
            other.wait()
    mine.close()
