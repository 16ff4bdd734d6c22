"""Progress reporting that reads well in a terminal and in a CI log.

In a terminal: tqdm bars.  Otherwise (output redirected, CI): one plain
line per finished step, no carriage returns.
"""

# SPDX-License-Identifier: MIT

import sys
import time

__all__ = ["Progress", "is_terminal"]


def is_terminal(stream=None):
    """Whether ``stream`` (default standard error) is an interactive terminal."""
    stream = stream or sys.stderr
    return bool(getattr(stream, "isatty", lambda: False)())


class Progress:
    """A bar (terminal) or a line per step (log) over ``total`` steps.

    Parameters
    ----------
    total : int
        Number of steps.
    desc : str
        What is being done.
    enabled : bool, default=True
        False prints nothing.
    """

    def __init__(self, total, desc, *, enabled=True):
        self.total, self.desc, self.enabled = total, desc, enabled
        self.n = 0
        self._start = time.perf_counter()
        self._bar = None
        if enabled and is_terminal():
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, desc=desc, leave=True, file=sys.stderr)

    def update(self, info=""):
        """Mark one step done; ``info`` is shown beside it."""
        self.n += 1
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.set_postfix_str(info, refresh=False)
            self._bar.update(1)
        else:
            elapsed = time.perf_counter() - self._start
            print(f"[{self.desc}] {self.n}/{self.total} {info} ({elapsed:.0f}s)", file=sys.stderr, flush=True)

    def close(self):
        if self._bar is not None:
            self._bar.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
