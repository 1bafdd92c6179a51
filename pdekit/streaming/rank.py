"""Entry point of one training rank: ``torchrun ... -m pdekit.streaming.rank RUN/config.json``.

The coordinator starts ``torchrun`` with ``PDEKIT_STREAM_CONTROL`` (its control address) and
``PDEKIT_STREAM_RUN`` (the run id) in the environment; on SLURM the trainer job script does
the same (see ``examples/slurm/``).
"""

from __future__ import annotations

import faulthandler
import os
import signal
import sys

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    from pdekit.streaming.config import StreamConfig
    from pdekit.streaming.trainer import StreamingTrainer

    argv = sys.argv[1:] if argv is None else argv
    faulthandler.register(signal.SIGUSR1)  # `kill -USR1 PID` prints every thread's stack to trainer.log
    if len(argv) != 1:
        raise SystemExit("usage: python -m pdekit.streaming.rank RUN/config.json")
    for name in ("PDEKIT_STREAM_CONTROL", "PDEKIT_STREAM_RUN"):
        if not os.environ.get(name):
            raise SystemExit(f"{name} is not set; the ranks are started by `pdekit stream` "
                             f"(or a trainer job that sets it, see examples/slurm)")
    config = StreamConfig.load(argv[0])
    StreamingTrainer(config, run_id=os.environ["PDEKIT_STREAM_RUN"],
                     control_address=os.environ["PDEKIT_STREAM_CONTROL"]).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
