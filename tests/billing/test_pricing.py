"""Model prices: the bundled genai-prices catalogue, operator overrides, and the base cost."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from genai_prices import Usage, calc_price
from genai_prices.data_snapshot import get_snapshot
from genai_prices.types import ModelPrice
from hypothesis import given, settings
from hypothesis import strategies as st

from lava_server.billing.fees import UnitCounts
from lava_server.billing.pricing import (
    GENAI_PRICES_VERSION,
    BaseCost,
    ModelPrices,
    PriceSource,
    PriceTiers,
    UnknownModelPrice,
    base_cost,
    parse_overrides,
    reprice,
)
from lava_server.money import round_units, to_wire

D = Decimal
AT = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def source() -> PriceSource:
    return PriceSource()


def catalogue_usage(u: UnitCounts) -> Usage:
    """The same usage in the catalogue's terms, written out independently of pricing.py."""
    return Usage(
        input_tokens=u.input_tokens,
        cache_read_tokens=u.cached_input_tokens,
        cache_write_tokens=u.cache_write_tokens,
        cache_write_1h_tokens=u.cache_write_1h_tokens,
        output_tokens=u.output_tokens,
        output_reasoning_tokens=u.reasoning_tokens,
        input_characters=u.input_characters,
        audio_seconds=u.input_seconds + u.output_seconds,
        input_audio_seconds=u.input_seconds,
        output_audio_seconds=u.output_seconds,
    )


def catalogue_units(u: UnitCounts, model: str, provider_id: str, at: datetime) -> tuple[int, int]:
    pc = calc_price(catalogue_usage(u), model, provider_id=provider_id, genai_request_timestamp=at)
    return round_units(pc.total_price - pc.output_price), round_units(pc.output_price)


def ours(source: PriceSource, u: UnitCounts, model: str, provider_id: str, at: datetime) -> BaseCost:
    return base_cost(u, source.require(provider_id, model, at))


# --- real models against the catalogue's own calc_price ----------------------------------------


def test_gpt_4o_with_cached_input(source: PriceSource) -> None:
    u = UnitCounts(input_tokens=1000, cached_input_tokens=400, output_tokens=500)
    cost = ours(source, u, "gpt-4o", "openai", AT)
    assert (cost.input_cost_units, cost.output_cost_units) == catalogue_units(u, "gpt-4o", "openai", AT)
    # 600 × 2.50 + 400 × 1.25 per MTok = 0.002; 500 × 10 per MTok = 0.005
    assert (to_wire(cost.input_cost_units), to_wire(cost.output_cost_units)) == ("0.0020000000", "0.0050000000")


def test_claude_sonnet_4_with_cache_reads_and_writes(source: PriceSource) -> None:
    u = UnitCounts(
        input_tokens=5100,
        cached_input_tokens=3000,
        cache_write_tokens=2000,
        cache_write_1h_tokens=500,
        output_tokens=700,
    )
    cost = ours(source, u, "claude-sonnet-4-20250514", "anthropic", AT)
    assert (cost.input_cost_units, cost.output_cost_units) == catalogue_units(
        u, "claude-sonnet-4-20250514", "anthropic", AT
    )
    # 100×3 + 3000×0.3 + 1500×3.75 + 500×6 per MTok = 0.009825
    assert to_wire(cost.input_cost_units) == "0.0098250000"
    assert cost.provenance["model_id"] == "claude-sonnet-4-0"


@pytest.mark.parametrize("input_tokens", [150_000, 200_000, 200_001, 350_000])
def test_gemini_2_5_pro_long_context_tier(source: PriceSource, input_tokens: int) -> None:
    u = UnitCounts(input_tokens=input_tokens, cached_input_tokens=10_000, output_tokens=2000)
    cost = ours(source, u, "gemini-2.5-pro", "google", AT)
    assert (cost.input_cost_units, cost.output_cost_units) == catalogue_units(u, "gemini-2.5-pro", "google", AT)
    expected_output = "10" if input_tokens <= 200_000 else "15"
    assert cost.unit_prices["output_mtok"] == expected_output


def test_deepseek_chat_depends_on_the_time_of_day(source: PriceSource) -> None:
    u = UnitCounts(input_tokens=2000, cached_input_tokens=1000, output_tokens=1000)
    peak = datetime(2025, 6, 1, 3, 0, tzinfo=UTC)
    off_peak = datetime(2025, 6, 1, 18, 0, tzinfo=UTC)
    at_peak = ours(source, u, "deepseek-chat", "deepseek", peak)
    at_off_peak = ours(source, u, "deepseek-chat", "deepseek", off_peak)
    assert (at_peak.input_cost_units, at_peak.output_cost_units) == catalogue_units(
        u, "deepseek-chat", "deepseek", peak
    )
    assert (at_off_peak.input_cost_units, at_off_peak.output_cost_units) == catalogue_units(
        u, "deepseek-chat", "deepseek", off_peak
    )
    assert at_peak.total_units == 2 * at_off_peak.total_units
    # the same instant in another time zone prices the same
    same_instant = peak.astimezone(timezone(timedelta(hours=-5)))
    assert ours(source, u, "deepseek-chat", "deepseek", same_instant) == at_peak


@pytest.mark.parametrize(
    ("provider_id", "model", "usage"),
    [
        ("openai", "tts-1", UnitCounts(input_characters=1200)),
        ("openai", "whisper-1", UnitCounts(input_seconds=D("90.5"))),
        ("openai", "o3-mini", UnitCounts(input_tokens=1000, output_tokens=2000, reasoning_tokens=1500)),
        ("x-ai", "grok-3-mini", UnitCounts(input_tokens=291, output_tokens=215, reasoning_tokens=189)),
        ("azure", "gpt-4o", UnitCounts(input_tokens=10, output_tokens=3)),
    ],
)
def test_other_units_match_the_catalogue(source: PriceSource, provider_id: str, model: str, usage: UnitCounts) -> None:
    cost = ours(source, usage, model, provider_id, AT)
    assert (cost.input_cost_units, cost.output_cost_units) == catalogue_units(usage, model, provider_id, AT)
    assert cost.total_units > 0


def test_every_bundled_model_matches_the_catalogue(source: PriceSource) -> None:
    usages = [
        UnitCounts(input_tokens=1234, cached_input_tokens=200, output_tokens=321),
        UnitCounts(
            input_tokens=300_000,
            cached_input_tokens=50_000,
            cache_write_tokens=20_000,
            cache_write_1h_tokens=5000,
            output_tokens=4000,
            reasoning_tokens=1000,
            input_characters=1200,
            input_seconds=D("30.5"),  # ≥ 10 s: see the Groq test below
        ),
    ]
    moments = [datetime(2025, 6, 1, 3, 0, tzinfo=UTC), datetime(2026, 11, 26, 18, 0, tzinfo=UTC)]
    checked, mismatches = 0, []
    for provider in get_snapshot().providers:
        for model in provider.models:
            for at in moments:
                try:
                    calc_price(Usage(), model.id, provider_id=provider.id, genai_request_timestamp=at)
                except LookupError:
                    continue  # the id does not match its own model's pattern; nothing to compare
                for u in usages:
                    got = ours(source, u, model.id, provider.id, at)
                    want = catalogue_units(u, model.id, provider.id, at)
                    checked += 1
                    if (got.input_cost_units, got.output_cost_units) != want:
                        mismatches.append((provider.id, model.id, at, u))
    assert mismatches == []
    assert checked > 4000


def test_groq_whisper_minimum_is_not_applied(source: PriceSource) -> None:
    """Documented difference: the catalogue bills Groq Whisper for at least 10 s; we bill what was reported."""
    u = UnitCounts(input_seconds=D(3))
    cost = ours(source, u, "whisper-large-v3", "groq", AT)
    assert cost.input_cost_units == round_units(D("0.111") * 3 / 3600)
    assert catalogue_units(u, "whisper-large-v3", "groq", AT)[0] == round_units(D("0.111") * 10 / 3600)


# --- the fast path is the catalogue's arithmetic ------------------------------------------------

price = st.one_of(st.none(), st.integers(0, 10**8).map(lambda n: D(n).scaleb(-6)))


@st.composite
def token_usage(draw: st.DrawFn) -> UnitCounts:
    total = draw(st.integers(0, 10**9))
    read = draw(st.integers(0, total))
    write = draw(st.integers(0, total - read))
    output = draw(st.integers(0, 10**7))
    return UnitCounts(
        input_tokens=total,
        cached_input_tokens=read,
        cache_write_tokens=write,
        cache_write_1h_tokens=draw(st.integers(0, write)),
        output_tokens=output,
        reasoning_tokens=draw(st.integers(0, output)),
    )


@settings(deadline=None)
@given(token_usage(), price, price, price, price, price)
def test_fast_path_equals_catalogue_arithmetic(
    u: UnitCounts, inp: D | None, out: D | None, read: D | None, write: D | None, write_1h: D | None
) -> None:
    given = {"input_mtok": inp, "output_mtok": out, "cache_read_mtok": read}
    given |= {"cache_write_mtok": write, "cache_write_1h_mtok": write_1h}
    flat = {key: value for key, value in given.items() if value is not None}
    try:
        prices = ModelPrices(**given)
    except ValueError:  # the same price sets are refused by both
        with pytest.raises(ValueError, match="Missing ancestor price"):
            ModelPrice(**flat).calc_price(catalogue_usage(u))
        return
    got = base_cost(u, prices)
    want = ModelPrice(**flat).calc_price(catalogue_usage(u))
    assert got.output_cost_units == round_units(want["output_price"])
    assert got.input_cost_units == round_units(want["input_price"])
    assert type(got.input_cost_units) is int
    assert type(got.output_cost_units) is int


def test_threshold_tiers_apply_to_all_units_above_the_start() -> None:
    tiers = PriceTiers(D("1"), ((200_000, D("2")),))
    assert [tiers.resolve(n) for n in (0, 200_000, 200_001)] == [D(1), D(1), D(2)]
    prices = ModelPrices(input_mtok=tiers, output_mtok=D(0))
    assert to_wire(base_cost(UnitCounts(input_tokens=200_000), prices).input_cost_units) == "0.2000000000"
    assert to_wire(base_cost(UnitCounts(input_tokens=300_000), prices).input_cost_units) == "0.6000000000"


# --- provenance and recomputation ---------------------------------------------------------------


def test_provenance_and_reprice(source: PriceSource) -> None:
    u = UnitCounts(input_tokens=250_000, cached_input_tokens=1000, output_tokens=999)
    cost = ours(source, u, "gemini-2.5-pro", "google", AT)
    assert dict(cost.provenance) == {
        "source": "genai-prices",
        "version": GENAI_PRICES_VERSION,
        "provider_id": "google",
        "model_id": "gemini-2.5-pro",
    }
    stored = json.loads(json.dumps({"unit_prices": dict(cost.unit_prices), "provenance": dict(cost.provenance)}))
    again = reprice(u, stored["unit_prices"], stored["provenance"])
    assert again == cost
    assert all(isinstance(value, str) for value in cost.unit_prices.values())


def test_reprice_keeps_catalogue_prices_with_many_digits() -> None:
    u = UnitCounts(input_tokens=10**6, output_tokens=3)
    cost = reprice(u, {"input_mtok": "0.041666666666666664", "output_mtok": "0.18000000000000002"}, {})
    assert cost.input_cost_units == round_units(D("0.041666666666666664"))
    with pytest.raises(ValueError):
        reprice(u, {"input_mtok": "-1"}, {})
    with pytest.raises(ValueError):
        reprice(u, {"bogus_mtok": "1"}, {})


def test_unpriced_base_cost_says_so() -> None:
    cost = BaseCost.unpriced("openai", "my-finetune")
    assert cost.total_units == 0
    assert cost.provenance["source"] == "unpriced"


# --- lookups ----------------------------------------------------------------------------------


def test_unknown_models(source: PriceSource) -> None:
    assert source.prices_for("openai", "no-such-model-xyz", AT) is None
    assert source.prices_for("no-such-provider", "gpt-4o", AT) is None
    assert source.prices_for("openai", "gpt-4o" + "x" * 300, AT) is None
    with pytest.raises(UnknownModelPrice) as info:
        source.require("openai", "no-such-model-xyz", AT)
    assert info.value.code == "unknown_model_price"
    assert (info.value.provider_id, info.value.model) == ("openai", "no-such-model-xyz")


def test_lookup_is_case_insensitive_and_needs_an_aware_timestamp(source: PriceSource) -> None:
    assert source.require("OpenAI", "GPT-4o", AT) == source.require("openai", "gpt-4o", AT)
    with pytest.raises(ValueError):
        source.prices_for("openai", "gpt-4o", datetime(2025, 6, 1, 12, 0))  # noqa: DTZ001


def test_lookup_cache_is_bounded() -> None:
    small = PriceSource(cache_size=2)
    for model in ("gpt-4o", "gpt-4o-mini", "nope-1", "nope-2", "o3-mini"):
        small.prices_for("openai", model, AT)
    assert len(small._lookups) == 2
    assert small.require("openai", "gpt-4o", AT).input_mtok == D("2.5")


# --- overrides --------------------------------------------------------------------------------


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "prices.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def test_override_file_wins_and_cache_prices_fall_back_to_input(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {
            "OpenAI/gpt-4o": {"input_mtok": "1.00", "output_mtok": "2"},
            "acme/house-model": {"input_mtok": "0", "output_mtok": "0.5"},
        },
    )
    source = PriceSource(path)
    prices = source.require("openai", "GPT-4o", AT)
    assert dict(prices.provenance) == {"source": "override", "key": "openai/gpt-4o", "file": str(path)}
    cost = base_cost(UnitCounts(input_tokens=1_000_000, cached_input_tokens=400_000, output_tokens=1_000_000), prices)
    assert (to_wire(cost.input_cost_units), to_wire(cost.output_cost_units)) == ("1.0000000000", "2.0000000000")
    assert cost.unit_prices == {"input_mtok": "1.00", "output_mtok": "2"}
    assert source.require("acme", "house-model", AT).output_mtok == D("0.5")


def test_set_override_to_json_round_trip() -> None:
    source = PriceSource()
    catalogue = source.require("openai", "gpt-4o", AT)
    source.set_override("openai", "gpt-4o", input_mtok="3", output_mtok=D("12.5"), cache_read_mtok="0.3")
    assert source.require("openai", "gpt-4o", AT).input_mtok == D(3)
    text = source.to_json()
    assert json.loads(text) == {"openai/gpt-4o": {"input_mtok": "3", "output_mtok": "12.5", "cache_read_mtok": "0.3"}}
    assert parse_overrides(text, source="x")["openai/gpt-4o"].cache_read_mtok == D("0.3")
    assert source.remove_override("openai", "gpt-4o") is True
    assert source.remove_override("openai", "gpt-4o") is False
    assert source.require("openai", "gpt-4o", AT) == catalogue
    with pytest.raises(ValueError):
        source.set_override("openai", "gpt-4o", input_mtok="-1", output_mtok="1")
    with pytest.raises(ValueError):
        source.set_override("", "gpt-4o", input_mtok="1", output_mtok="1")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "prices file"),
        ('["openai/gpt-4o"]', "JSON object"),
        ({"gpt-4o": {"input_mtok": "1", "output_mtok": "1"}}, "'gpt-4o'"),
        ({"openai/gpt-4o": {"input_mtok": "1"}}, "'openai/gpt-4o': missing required field(s) output_mtok"),
        (
            {"openai/gpt-4o": {"input_mtok": "1", "output_mtok": "1", "inptu_mtok": "1"}},
            "'openai/gpt-4o': unknown field",
        ),
        (
            {"openai/gpt-4o": {"input_mtok": 2.5, "output_mtok": "1"}},
            "'openai/gpt-4o': input_mtok must be a decimal string",
        ),
        ({"openai/gpt-4o": {"input_mtok": "-1", "output_mtok": "1"}}, "'openai/gpt-4o': input_mtok"),
        ({"openai/gpt-4o": {"input_mtok": "abc", "output_mtok": "1"}}, "'openai/gpt-4o': input_mtok"),
        ({"openai/gpt-4o": {"input_mtok": "0.0000000000001", "output_mtok": "1"}}, "'openai/gpt-4o': input_mtok"),
        ({"openai/gpt-4o": "2.5"}, "'openai/gpt-4o': must be an object"),
        (
            {"openai/gpt-4o": {"input_mtok": "1", "output_mtok": "1", "cache_write_1h_mtok": "2"}},
            "'openai/gpt-4o': cache_write_1h_mtok needs cache_write_mtok",
        ),
        (
            '{"openai/gpt-4o": {"input_mtok": "1", "output_mtok": "1"}, "openai/gpt-4o": {}}',
            "duplicate key 'openai/gpt-4o'",
        ),
        (
            {
                "openai/GPT-4o": {"input_mtok": "1", "output_mtok": "1"},
                "openai/gpt-4o": {"input_mtok": "1", "output_mtok": "1"},
            },
            "appears twice",
        ),
    ],
)
def test_bad_override_files_are_refused_clearly(tmp_path: Path, content: object, message: str) -> None:
    path = write(tmp_path, content)
    with pytest.raises(ValueError) as info:
        PriceSource(path)
    assert message in str(info.value)
    assert str(path) in str(info.value)


def test_missing_override_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot read prices file"):
        PriceSource(tmp_path / "absent.json")


# --- offline ----------------------------------------------------------------------------------


def test_import_and_pricing_never_touch_the_network() -> None:
    script = textwrap.dedent(
        """
        import socket
        attempts = []
        def refuse(*args, **kwargs):
            attempts.append(args)
            raise OSError("network access attempted")
        socket.socket.connect = refuse
        socket.socket.connect_ex = refuse
        socket.create_connection = refuse
        socket.getaddrinfo = refuse

        from datetime import datetime, UTC
        from lava_server.billing.fees import UnitCounts
        from lava_server.billing.pricing import PriceSource, base_cost
        from genai_prices import Usage, calc_price

        at = datetime(2025, 6, 1, 3, tzinfo=UTC)
        source = PriceSource()
        for provider, model in [("openai", "gpt-4o"), ("google", "gemini-2.5-pro"), ("openai", "tts-1")]:
            cost = base_cost(UnitCounts(input_tokens=1000, output_tokens=10, input_characters=5), source.require(provider, model, at))
            assert cost.total_units > 0
        pc = calc_price(Usage(input_tokens=1000), "gpt-4o", provider_id="openai", genai_request_timestamp=at)
        assert pc.auto_update_timestamp is None
        assert attempts == [], attempts
        print("offline ok")
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "offline ok" in done.stdout
