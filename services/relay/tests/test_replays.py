"""The replay slots (replays.py): per process and per client, each given back exactly once."""

from scrollr_relay.fanout.replays import LIMIT_CLIENT, LIMIT_PROCESS, ReplaySlot, ReplaySlots


def test_the_per_client_cap_refuses_a_client_not_the_others():
    slots = ReplaySlots(per_process=10, per_client=2)
    a1, a2 = slots.take("a"), slots.take("a")
    assert isinstance(a1, ReplaySlot) and isinstance(a2, ReplaySlot)
    assert slots.take("a") == LIMIT_CLIENT
    assert isinstance(slots.take("b"), ReplaySlot)
    a1.give_back()
    assert isinstance(slots.take("a"), ReplaySlot)


def test_the_process_cap_refuses_everyone():
    slots = ReplaySlots(per_process=2, per_client=0)
    taken = [slots.take("a"), slots.take("b")]
    assert slots.take("c") == LIMIT_PROCESS
    for slot in taken:
        assert isinstance(slot, ReplaySlot)
        slot.give_back()
    assert slots.taken == 0


def test_a_slot_given_back_twice_counts_once():
    slots = ReplaySlots(per_process=2, per_client=1)
    slot = slots.take("a")
    other = slots.take("b")
    assert isinstance(slot, ReplaySlot) and isinstance(other, ReplaySlot)
    slot.give_back()
    slot.give_back()  # the stream's normal exit and its finally
    assert slots.taken == 1
    assert isinstance(slots.take("a"), ReplaySlot)
