"""The memory-controller design space: ArchGym's DRAMSys ``mcconfig`` knobs.

Every knob keeps the name and the meaning DRAMSys gives it, so a design found here can be
written into a DRAMSys ``mcconfig`` file unchanged.

==========================  ==========================================================================
knob                        semantics (as in DRAMSys)
==========================  ==========================================================================
``PagePolicy``              ``Open``: a row stays open after an access until a conflict forces a
                            precharge. ``OpenAdaptive``: as Open, but the row is precharged right
                            after an access when the buffer holds no further hit to it and does hold
                            a miss to the same bank. ``Closed``: every access auto-precharges
                            (RDA/WRA). ``ClosedAdaptive``: auto-precharge unless the buffer holds
                            another hit to the same row.
``Scheduler``               ``Fifo``: requests are served strictly in arrival order (per buffer).
                            ``FrFcfs``: first-ready first-come-first-served — the oldest row hit
                            first, else the oldest request. ``FrFcfsGrp``: FR-FCFS that also groups
                            reads and writes (prefers the direction of the last column command) to
                            save bus turnarounds.
``SchedulerBuffer``         ``Bankwise``: one buffer of ``RequestBufferSize`` entries per bank.
                            ``ReadWrite``: one read and one write buffer of ``RequestBufferSize``
                            entries each. ``Shared``: a single buffer of ``RequestBufferSize`` entries.
``RequestBufferSize``       entries per scheduler buffer (see ``SchedulerBuffer``).
``RespQueue``               ``Fifo``: read responses leave the controller in the order they
                            complete. ``Reorder``: responses are returned in request order (an
                            early completion waits for older requests).
``RefreshPolicy``           ``NoRefresh``; ``AllBank``: one REFab per tREFI per rank (all banks
                            precharged first, rank busy for tRFC); ``PerBank``: REFpb round-robin
                            over the banks every tREFI/banks, only that bank busy (tRFCpb).
``RefreshMaxPostponed``     how many refreshes may be postponed while the rank has pending requests.
``RefreshMaxPulledin``      how many refreshes may be issued early while the rank is idle.
``Arbiter``                 ``Simple``: requests go straight to the controller, unlimited in flight.
                            ``Fifo``: an arbiter queue forwards one request per cycle in order and
                            admits at most ``MaxActiveTransactions`` outstanding. ``Reorder``: as
                            Fifo, and also returns responses to the initiator in request order.
``MaxActiveTransactions``   outstanding transactions per initiator (Fifo and Reorder arbiters only).
==========================  ==========================================================================
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Mapping

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
                raise ValueError(
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
            raise ValueError(
                f"unknown DRAM controller knob(s) {', '.join(unknown)}; expected knobs: "
                f"{', '.join(KNOB_VALUES)}"
            )
        values: dict[str, Any] = {}
        for knob, value in design.items():
            if isinstance(KNOB_VALUES[knob][0], int):
                try:
                    value = int(value)
                except (TypeError, ValueError):
                    raise ValueError(
                        f"invalid value {value!r} for DRAM controller knob {knob!r}; expected one of "
                        f"{', '.join(map(str, KNOB_VALUES[knob]))}"
                    ) from None
            values[knob] = value
        return cls(**values)

    def to_design(self) -> dict[str, Any]:
        return asdict(self)
