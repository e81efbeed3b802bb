"""How a render uses the CPU: batches of pixels on worker threads, and memory that the batches reuse.

- :func:`map_in_order` works on batches concurrently, one per worker thread, and yields their results in
  order.
- :func:`keep_freed_memory` sets glibc's malloc thresholds. A render allocates and frees tens of tensors of
  about a megabyte per batch, in the worker threads; by default glibc gives the free top of a thread's heap
  back to the kernel as soon as it exceeds the trim threshold (twice the largest block freed so far), so the
  next batch faults the same pages in again, zero-filled by the kernel: measured on the benchmark cases,
  about 27,000 page faults and a quarter of the CPU time of a 1024x1024 render. Fixed thresholds keep that
  memory in the process for the next batch; the peak resident set stays that of the largest batch. They are
  process-wide, so they are set once, at the first render, and left alone where the user chose malloc
  settings through the environment.
- :func:`zero_image` makes the image through calloc, which maps pages the kernel has zeroed instead of
  writing zeros over them: the pixels outside an ROI then cost nothing.

Nothing here changes a computed number.
"""

from __future__ import annotations

import ctypes
import itertools
import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterable

import numpy
import torch

__all__ = ["keep_freed_memory", "map_in_order", "zero_image"]

# mallopt parameters (malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
# Blocks below this come from the heap, where a freed block can be reused; 32 MiB is the largest threshold
# glibc's own dynamic rule would reach. A free top below the trim threshold stays in the process.
_MMAP_THRESHOLD = 32 << 20
_TRIM_THRESHOLD = 64 << 20
# The environment variables through which a user sets glibc's malloc; any of them leaves the settings alone.
_USER_SETTINGS = ("GLIBC_TUNABLES", "MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TOP_PAD_",
                  "MALLOC_MMAP_MAX_", "MALLOC_ARENA_MAX")

_done = False


def keep_freed_memory() -> None:
    """Set glibc's malloc thresholds so that freed tensors' memory is reused rather than returned to the
    kernel; once per process, and only with glibc and no malloc settings in the environment."""
    global _done
    if _done:
        return
    _done = True
    if not _glibc() or any(name in os.environ for name in _USER_SETTINGS):
        return
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # a glibc without mallopt in the global namespace: keep its defaults
        return
    mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)
    mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD)


def _glibc() -> bool:
    try:
        return os.confstr("CS_GNU_LIBC_VERSION").startswith("glibc")
    except (AttributeError, ValueError, OSError):  # not a POSIX system, or no such name: not glibc
        return False


def map_in_order(items: Iterable, work: Callable, workers: int):
    """Yield ``(item, work(item))`` for every item, in order, with up to ``workers`` items worked on at once.

    With several workers each runs on its own thread with one intra-op thread: torch's own parallelism splits
    every operation and meets at a barrier after each (tens of thousands a run), which a busy machine turns
    into waits of a time slice each; items share nothing until their results are collected here. A single
    item (a small image) is worked on in this thread, with one intra-op thread as a worker would have, which
    spares starting a thread (0.3 ms). Closing the generator early cancels the items not yet started. The
    caller's gradient mode holds in the workers.
    """
    items = iter(items)
    head = list(itertools.islice(items, 2))
    if workers == 1 or len(head) < 2:
        for item in itertools.chain(head, items):
            yield item, work(item) if workers == 1 else _with_one_thread(work, item)
        return
    threads, grad = torch.get_num_threads(), torch.is_grad_enabled()  # grad mode is per thread
    torch.set_num_threads(1)
    pool = ThreadPoolExecutor(workers, thread_name_prefix="nanobrag-batch")
    try:
        pending: deque = deque()
        for item in itertools.chain(head, items):
            pending.append((item, pool.submit(_in_grad_mode, grad, work, item)))
            if len(pending) > workers:
                yield _collect(pending.popleft())
        while pending:
            yield _collect(pending.popleft())
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        torch.set_num_threads(threads)


def _with_one_thread(work: Callable, item):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return work(item)
    finally:
        torch.set_num_threads(threads)


def _in_grad_mode(grad: bool, work: Callable, item):
    with torch.set_grad_enabled(grad):
        return work(item)


def _collect(entry):
    item, future = entry
    return item, future.result()


def zero_image(shape, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """``torch.zeros(shape)``; on a CPU through calloc (numpy's zeros), which maps pages the kernel has already
    zeroed where torch would write zeros over all of them: pixels outside the ROI then cost nothing (the
    zeros of the seed case's 2463x2527 detector took 25 ms of a 47 ms render of its 32x32 ROI)."""
    as_numpy = {torch.float64: numpy.float64, torch.float32: numpy.float32}.get(dtype)
    if device.type == "cpu" and as_numpy is not None:
        return torch.from_numpy(numpy.zeros(shape, dtype=as_numpy))
    return torch.zeros(shape, dtype=dtype, device=device)
