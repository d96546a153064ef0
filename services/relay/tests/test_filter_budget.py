"""What filters may cost (filter_budget.py): distinct values per process, values per client."""

from scrollr_relay.fanout.filter_budget import LIMIT_CLIENT, LIMIT_PROCESS, FilterBudget
from scrollr_relay.fanout.filters import StreamFilter


def symbols(*names: str) -> StreamFilter:
    return StreamFilter(symbols=frozenset(names))


def test_a_client_is_refused_past_its_values_and_others_are_not():
    budget = FilterBudget(max_values=100, max_values_per_client=4)
    budget.charge("a", symbols("A", "B", "C"))
    assert budget.refusal("a", symbols("D", "E")) == LIMIT_CLIENT
    assert budget.refusal("a", symbols("D")) is None
    assert budget.refusal("b", symbols("D", "E")) is None
    assert budget.refusal("a", None) is None  # no filter: nothing to index
    budget.release("a", symbols("A", "B", "C"))
    assert budget.refusal("a", symbols("D", "E")) is None


def test_the_process_counts_distinct_values_once_however_many_streams_name_them():
    budget = FilterBudget(max_values=3, max_values_per_client=100)
    budget.charge("a", symbols("A", "B"))
    budget.charge("b", symbols("A", "B"))  # the same values: no new ones
    assert budget.distinct_values == 2
    assert budget.refusal("c", symbols("A", "B", "C")) is None  # one new value fits
    assert budget.refusal("c", symbols("C", "D")) == LIMIT_PROCESS
    budget.release("a", symbols("A", "B"))
    assert budget.distinct_values == 2  # b still uses them
    budget.release("b", symbols("A", "B"))
    assert budget.distinct_values == 0
    assert budget.refusal("c", symbols("C", "D")) is None


def test_leagues_and_symbols_are_separate_values():
    budget = FilterBudget(max_values=100, max_values_per_client=100)
    budget.charge("a", StreamFilter(symbols=frozenset({"X"}), leagues=frozenset({"X"})))
    assert budget.distinct_values == 2
