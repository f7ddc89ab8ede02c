"""The memory-controller design space: ArchGym's DRAMSys ``mcconfig`` knobs.

Every knob keeps the name and the meaning DRAMSys gives it, so a design found here can be
written into a DRAMSys ``mcconfig`` file unchanged.

==========================  ==========================================================================
knob                        semantics (as in DRAMSys; the model is in :mod:`.engine`)
==========================  ==========================================================================
``PagePolicy``              ``Open``: a row stays open after an access until a conflict forces a
                            precharge. ``OpenAdaptive``: as Open, but the access auto-precharges
                            (RDA/WRA) when the bank's buffer holds a further request and no further
                            hit to the open row. ``Closed``: every access auto-precharges (RDA/WRA).
                            ``ClosedAdaptive``: auto-precharge unless the buffer holds another hit
                            to the same row.
``Scheduler``               Chooses each bank's next request (banks work in parallel; the command
                            bus takes the ready command of the oldest request). ``Fifo``: each bank
                            serves its requests in arrival order. ``FrFcfs``: first-ready
                            first-come-first-served — the bank's oldest row hit first, else its
                            oldest request. ``FrFcfsGrp``: FR-FCFS that prefers row hits in the
                            direction (read/write) of the last column command to save bus
                            turnarounds, never passing an older request to the same address.
``SchedulerBuffer``         How ``RequestBufferSize`` limits the controller's requests (back-pressure
                            when the incoming request does not fit): ``Bankwise``: per bank.
                            ``ReadWrite``: one limit for reads and one for writes. ``Shared``: one
                            limit for all.
``RequestBufferSize``       entries per scheduler buffer (see ``SchedulerBuffer``).
``RespQueue``               ``Fifo``: responses (reads and writes) leave the controller in the order
                            their data completes. ``Reorder``: in the order the controller accepted
                            the requests (an early completion waits for older requests).
``RefreshPolicy``           ``NoRefresh``; ``AllBank``: one REFab per tREFI per rank (ranks
                            staggered; all banks precharged first, rank busy for tRFC); ``PerBank``:
                            one REFpb every tREFI/banks, round-robin so each round refreshes every
                            bank once, preferring idle banks; only that bank is busy (tRFCpb).
``RefreshMaxPostponed``     how many refreshes may be postponed while the rank (bank) has pending
                            requests; at the limit the refresh is forced (its banks stop issuing,
                            are precharged and refreshed).
``RefreshMaxPulledin``      how many refreshes may be issued ahead of schedule, right after a due
                            refresh, while the rank (bank) stays idle.
``Arbiter``                 ``Simple``: requests go straight to the controller (its back-pressure
                            reaches the initiator), unlimited in flight. ``Fifo``: an arbiter queue
                            accepts up to ``MaxActiveTransactions`` outstanding requests and forwards
                            them in order, one per cycle. ``Reorder``: as Fifo, and also returns
                            responses to the initiator in request order.
``MaxActiveTransactions``   outstanding transactions per initiator (Fifo and Reorder arbiters only;
                            Simple ignores it, as in DRAMSys).
==========================  ==========================================================================
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Mapping

from archgym.errors import UserError

POWERS_OF_TWO_TO_128 = (1, 2, 4, 8, 16, 32, 64, 128)

#: Allowed values of every knob, in a stable order (the design space is built from this).
KNOB_VALUES: dict[str, tuple[Any, ...]] = {
    "PagePolicy": ("Open", "OpenAdaptive", "Closed", "ClosedAdaptive"),
    "Scheduler": ("Fifo", "FrFcfs", "FrFcfsGrp"),
    "SchedulerBuffer": ("Bankwise", "ReadWrite", "Shared"),
    "RequestBufferSize": POWERS_OF_TWO_TO_128,
    "RespQueue": ("Fifo", "Reorder"),
    "RefreshPolicy": ("NoRefresh", "AllBank", "PerBank"),
    "RefreshMaxPostponed": (1, 2, 4, 8),
    "RefreshMaxPulledin": (1, 2, 4, 8),
    "Arbiter": ("Simple", "Fifo", "Reorder"),
    "MaxActiveTransactions": POWERS_OF_TWO_TO_128,
}


@dataclass(frozen=True)
class ControllerConfig:
    """One memory-controller design. Defaults are DRAMSys' FR-FCFS example configuration."""

    PagePolicy: str = "Open"
    Scheduler: str = "FrFcfs"
    SchedulerBuffer: str = "Bankwise"
    RequestBufferSize: int = 8
    RespQueue: str = "Fifo"
    RefreshPolicy: str = "AllBank"
    RefreshMaxPostponed: int = 8
    RefreshMaxPulledin: int = 8
    Arbiter: str = "Simple"
    MaxActiveTransactions: int = 128

    def __post_init__(self) -> None:
        for knob, allowed in KNOB_VALUES.items():
            value = getattr(self, knob)
            if value not in allowed:
                raise UserError(
                    f"invalid value {value!r} for DRAM controller knob {knob!r}; expected one of "
                    f"{', '.join(map(str, allowed))}"
                )

    @classmethod
    def from_design(cls, design: Mapping[str, Any]) -> "ControllerConfig":
        """Build a config from a design dict; unknown knobs or bad values raise ``ValueError``.

        Knobs missing from ``design`` keep their defaults. Integer knobs given as strings
        (e.g. from the command line) are converted.
        """
        unknown = sorted(set(design) - set(KNOB_VALUES))
        if unknown:
            raise UserError(
                f"unknown DRAM controller knob(s) {', '.join(unknown)}; expected knobs: "
                f"{', '.join(KNOB_VALUES)}"
            )
        values: dict[str, Any] = {}
        for knob, value in design.items():
            if isinstance(KNOB_VALUES[knob][0], int):
                try:
                    value = int(value)
                except (TypeError, ValueError):
                    raise UserError(
                        f"invalid value {value!r} for DRAM controller knob {knob!r}; expected one of "
                        f"{', '.join(map(str, KNOB_VALUES[knob]))}"
                    ) from None
            values[knob] = value
        return cls(**values)

    def to_design(self) -> dict[str, Any]:
        return asdict(self)
