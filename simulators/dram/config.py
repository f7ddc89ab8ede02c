"""The memory-controller design space: ArchGym's DRAMSys ``mcconfig`` knobs.

Every knob keeps the name and the meaning DRAMSys gives it, so a design found here can be
written into a DRAMSys ``mcconfig`` file unchanged. The behaviour below was read in DRAMSys
4.0's source (tag ``v4.0`` of tukl-msd/DRAMSys, ``DRAMSys/library/src/``; paths below are
relative to it) and is modelled in :mod:`.engine`. ``benchmarks/dram_vs_dramsys.py`` checks it
against ArchGym's DRAMSys binary.

==========================  ==========================================================================
knob                        semantics (where DRAMSys implements it)
==========================  ==========================================================================
``PagePolicy``              ``Open``: a row stays open until a row miss precharges it (PREPB).
                            ``OpenAdaptive``: RDA/WRA when the bank's buffer holds a further request
                            but no further hit to the open row. ``Closed``: always RDA/WRA.
                            ``ClosedAdaptive``: RD/WR only while another hit to the row is buffered.
                            (``controller/BankMachine.cpp``: ``BankMachineOpen/OpenAdaptive/Closed/
                            ClosedAdaptive::start``; the scheduler's ``hasFurtherRowHit`` /
                            ``hasFurtherRequest``; with ``Fifo`` "further hit" means the bank's
                            second request.) Once a bank activated a row for a request it keeps it
                            (``keepTrans``) and may only switch to another hit.
``Scheduler``               Picks each bank's request (``controller/scheduler/Scheduler*.cpp``,
                            ``getNextRequest``). ``Fifo``: the bank's oldest. ``FrFcfs``: the bank's
                            oldest hit to the open row, else its oldest. ``FrFcfsGrp``: among the
                            hits, the oldest in the direction (read/write) of the channel's last
                            column command (``lastCommand``, set in ``removeRequest``, starts as
                            read) unless an older hit has the same address; else the oldest hit,
                            else the oldest. The command bus then takes the ready command of the
                            oldest request, refresh first (``cmdmux/CmdMuxOldest.cpp``: earliest
                            time, then lowest payload id; refresh payloads have id 0).
``SchedulerBuffer``         Back-pressure when ``BufferCounter*::hasBufferSpace()`` is false
                            (``controller/scheduler/BufferCounter*.cpp``); it never looks at the
                            incoming request. ``Bankwise``: the bank of the request stored *last*
                            (``lastBankID``, initially bank 0) holds fewer than ``RequestBufferSize``
                            requests, so one full bank stops all intake. ``ReadWrite``: both the read
                            and the write count are below the limit. ``Shared``: the total is.
``RequestBufferSize``       the limit of the buffer counter above.
``RespQueue``               ``Fifo``: responses leave in column-command order once their data is
                            complete (``respqueue/RespQueueFifo.cpp``; for DDR3/DDR4 timing that is
                            also completion order). ``Reorder``: in the order the controller accepted
                            the requests (``RespQueueReorder.cpp``).
``RefreshPolicy``           ``NoRefresh``; ``AllBank`` (``refresh/RefreshManagerAllBank.cpp``): one
                            REFab per tREFI per rank, first trigger of a rank at tREFI minus its
                            bit-reversed index x tREFI / ranks (``RefreshManagerIF::
                            getTimeForFirstTrigger``), PREAB first when a bank is open; a trigger
                            missed by a whole interval is skipped. ``PerBank``
                            (``RefreshManagerPerBank.cpp``): one REFpb per tREFI / banks, each round
                            refreshes every bank once, preferring idle banks in bank order. DRAMSys
                            4.0 runs PerBank only for devices whose checker has REFpb (not DDR3 or
                            DDR4: it aborts); archgym models it for every device.
``RefreshMaxPostponed``     at a trigger while the rank (PerBank: every remaining bank) is busy the
                            refresh is postponed until this many are outstanding; then it is forced:
                            the rank's banks (PerBank: the chosen bank, once its REFpb is chosen) stop
                            issuing until the refresh. PerBank counts in per-bank refreshes, i.e.
                            the knob x banks per rank (``maxPostponed`` in the constructor).
``RefreshMaxPulledin``      after a refresh, while the rank (a remaining bank) stays idle, further
                            refreshes are issued ahead, up to this many (PerBank: x banks per rank);
                            ``flexibilityCounter`` in ``updateState``. A regular refresh does not
                            move the trigger; it moves when pulling in stops.
``Arbiter``                 (``simulation/Arbiter.cpp``) ``Simple``: requests go straight to the
                            controller, its back-pressure reaches the initiator, no limit in flight.
                            ``Fifo``: the arbiter accepts up to ``MaxActiveTransactions`` requests in
                            flight and forwards them in order, one per cycle (``END_REQ`` -> next
                            ``BEGIN_REQ`` one cycle later). ``Reorder``: as Fifo, and responses reach
                            the initiator in request order. A request reaching the controller with
                            zero delay arrives in a later SystemC delta cycle than the controller's
                            command of that cycle (``Controller::controllerMethod``), so it is stored
                            after that command; the engine reproduces this ordering.
``MaxActiveTransactions``   outstanding transactions per initiator (Fifo and Reorder arbiters only;
                            ``ArbiterSimple`` ignores it).
==========================  ==========================================================================

Not a knob: DRAMSys' schedulers have no write drain. DRAMsim3 batches writes; archgym offers
that as the simulator option ``DRAMSimulator(write_drain=(high, low))``, off by default and
part of the simulator's fingerprint, never a change to these knobs' meaning.

Timing constraints follow ``controller/checker/CheckerDDR3.cpp`` / ``CheckerDDR4.cpp``
(``timeToSatisfyConstraints``), including RDA after WR (``tWRPRE - tRTP``) and the rank-wide
PREAB constraints.
"""

from __future__ import annotations

import json
import os
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


#: mcconfig fields DRAMSys has but archgym models at one value only
MODELLED_FIXED: dict[str, str] = {"CmdMux": "Oldest", "PowerDownPolicy": "NoPowerDown"}


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

    @classmethod
    def from_mcconfig(cls, path: str | os.PathLike[str]) -> "ControllerConfig":
        """Read a DRAMSys ``mcconfig`` JSON file (``{"mcconfig": {...}}`` or the bare object).

        The ten knobs are validated; ``CmdMux`` and ``PowerDownPolicy`` may only take the values
        archgym models (``Oldest``, ``NoPowerDown``); any other key, or a bad value, raises
        ``ValueError`` naming the file and the field.
        """
        where = str(os.fspath(path))
        try:
            with open(path, encoding="utf-8") as handle:
                data = json.load(handle)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise UserError(f"cannot read DRAMSys mcconfig {where!r}: {exc}") from None
        if isinstance(data, dict) and isinstance(data.get("mcconfig"), dict):
            data = data["mcconfig"]
        if not isinstance(data, dict):
            raise UserError(f"DRAMSys mcconfig {where!r}: expected a JSON object")
        design: dict[str, Any] = {}
        for key, value in data.items():
            if key in MODELLED_FIXED:
                if value != MODELLED_FIXED[key]:
                    raise UserError(
                        f"DRAMSys mcconfig {where!r}: field {key!r} = {value!r}: archgym models "
                        f"only {MODELLED_FIXED[key]!r}")
            elif key in KNOB_VALUES:
                allowed = KNOB_VALUES[key]
                ok = (value in allowed and not isinstance(value, bool)
                      and isinstance(value, type(allowed[0])))
                if not ok:
                    raise UserError(
                        f"DRAMSys mcconfig {where!r}: field {key!r} = {value!r}: expected one of "
                        f"{', '.join(map(str, allowed))}")
                design[key] = value
            else:
                raise UserError(
                    f"DRAMSys mcconfig {where!r}: field {key!r} is not modelled by archgym; "
                    f"expected the knobs {', '.join(KNOB_VALUES)} (and "
                    f"{', '.join(f'{k}={v}' for k, v in MODELLED_FIXED.items())})")
        return cls(**design)

    def to_design(self) -> dict[str, Any]:
        return asdict(self)
