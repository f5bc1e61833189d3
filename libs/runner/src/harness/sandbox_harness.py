"""Sandbox harness: runs one piece of untrusted Python and reports on it.

The runner sends this file (or its code, compiled by the image's Python) to the
bootstrap of a throwaway container, which runs it as PID 1 with ``python3 -I``,
and talks to it as PROTOCOL.md describes: one JSON payload on stdin, then the
input files' bytes; JSON-lines frames on stdout, output files among them.
Standard library only: the runtime image carries nothing of ours.

Why a supervisor and a worker: the frames on the container's stdout are the only
way back to the service, so the user's code must be unable to write to that
stream, close it or forge a frame on it, and the report must arrive even when
the code crashes, hangs, exits early or kills itself. The supervisor (PID 1)
therefore forks a worker that runs the code with fds 1 and 2 on pipes, plus a
third pipe for the structured result. Only the supervisor writes frames: it caps
and counts the output, enforces the time limit, and reports how the worker ended
even when the worker could not report anything itself.

Everything in a frame is bounded, so that no line exceeds what the runner accepts
(PROTOCOL.md lists the bounds). The worker applies them to what it reports, and
the supervisor checks and applies them again to what arrives on the result pipe:
the user's code can write there too.
"""

# Every import here is paid by every job's CPU, so the harness imports only what
# Python's start-up has already loaded or what costs nothing: json's and signal's C
# cores rather than the packages (which import re and enum, ~7 ms per job), and
# traceback, linecache and reprlib only where a job needs them (an exception, debug
# mode), once its code is over.
import _json
import _signal as signal  # signal's functions and constants, as plain ints
import builtins
import codecs
import gc
import io
import itertools
import math
import os
import select
import stat
import sys
import time
import types

PR_SET_DUMPABLE = 4
# Modules a warm container imports while it waits for its job (runner's SANDBOX_PRELOAD).
PRELOAD_ENV = 'SANDBOX_PRELOAD'
# What of the code is scanned for its imports (a waiting worker's, a batch's preload).
MAX_IMPORT_SCAN_CHARS = 1_000_000
# What the supervisor reads of the waiting worker's status at most: a line per module, and its CPU time.
MAX_STATUS_BYTES = 65_536

# Frames. The exit frame is the only one whose size depends on what the user's code
# left behind: every part of it is bounded so that its line, as written (UTF-8,
# JSON escapes and newline included), never exceeds MAX_EXIT_FRAME_BYTES.
MAX_EXIT_FRAME_BYTES = 2_097_152  # 2 MiB; harness-protocol.ts has the same constant
# The output files' summary in the exit frame: its list of omitted files stops here.
MAX_OMITTED_LISTING_BYTES = 16_384
# The exit frame's fields other than the result: 4 KiB, and the output files' summary.
EXIT_FRAME_RESERVE_BYTES = 4096 + MAX_OMITTED_LISTING_BYTES
# The result, encoded as in a frame. Also what the supervisor reads of the result pipe at most.
MAX_RESULT_BYTES = MAX_EXIT_FRAME_BYTES - EXIT_FRAME_RESERVE_BYTES
# A JSON string takes at most 6 bytes per character (a control character or a lone
# surrogate becomes \uXXXX). With the limits below, an exception chain of at most
# MAX_CAUSE_DEPTH + 1 links takes at most 6 * ~250 KB = 1.5 MB of MAX_RESULT_BYTES;
# the variables get whatever room is left.
MAX_MESSAGE_CHARS = 10_000  # an exception's message; also the harness_error message
MAX_NAME_CHARS = 200  # exception and variable type names, variable names, dict keys
MAX_FRAME_TEXT_CHARS = 200  # a traceback frame's file, function and source line
MAX_OUTER_FRAMES = 10  # a traceback keeps its outermost frames (where the user's code starts)
MAX_INNER_FRAMES = 40  # and its innermost ones (where it failed); those between are counted
MAX_COUNT = 2**32  # larger counts in a result are not believable: the result is malformed

# Supervisor
READ_CHUNK_BYTES = 65536
POLL_INTERVAL_S = 0.05
# After the worker exits, anything it started is killed, but a process that left
# its group can hold the pipes open forever: read what is there, never wait for EOF.
DRAIN_GRACE_S = 0.1

# Input and output files
OUTPUT_DIR = 'out'  # under the working directory: what the code leaves here is sent back
FILE_CHUNK_BYTES = 49_152  # raw bytes per file_data frame: 64 KiB once in base64
MAX_OMITTED_LISTED = 100  # omitted output files listed by path; the others only counted
# Output files considered, in the order the walk finds them; more are counted as omitted.
# Each costs the supervisor memory until they are sorted.
MAX_OUTPUT_FILES_CONSIDERED = 10_000

# Batches (PROTOCOL.md, "Batches")
MAX_PARALLELISM = 64  # workers of one batch at once; the container's pids limit binds first
ITEMS_DIR = '.items'  # under the working directory: one directory per running item, in it
# What makes a worker the kernel's first choice when the container runs out of memory.
OOM_SCORE_ADJ_PATH = '/proc/self/oom_score_adj'

# Figures (PROTOCOL.md, "Figures")
MAX_FIGURES = 50  # figures a result describes at most; harness-protocol.ts has the same constant
FIGURES_DIR_PREFIX = '.figures-'  # + random hex: the worker's PNGs, one <index>.png each
FIGURE_RENDER_TIMEOUT_S = 5.0  # one figure's title and PNG
# Figures are no longer rendered when less than this is left of the job's time, so that
# the variables and the result still reach the supervisor before its deadline kills the worker.
FIGURES_TIME_MARGIN_S = 0.3
PYPLOT = 'matplotlib.pyplot'
PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'
MAX_ERROR_CHARS = 500  # why a figure was not rendered; what kept part of a profile from being taken

# Profile (PROTOCOL.md, "Profile")
MAX_PROFILED_FUNCTIONS = 30
MAX_ALLOCATION_SITES = 15
MAX_PROFILED_IMPORTS = 30
MAX_IMPORTS_KEPT = 1_000  # modules whose import time is kept; later ones are only counted
# Frames tracemalloc keeps per allocation: enough to reach the user's line from inside
# pandas or numpy most of the time. Each one costs every allocation (see PROTOCOL.md).
TRACEMALLOC_FRAMES = 16
PROFILE_SAMPLE_INTERVAL_S = 0.02  # of CPU time (ITIMER_PROF): how often traced memory is read
# A snapshot is taken when traced memory has grown this much since the last one: the
# sites come from within a fifth of the peak, and all snapshots cost about five times
# the largest one.
SNAPSHOT_GROWTH_RATIO = 1.25
SNAPSHOT_GROWTH_MIN_BYTES = 1 << 20
# Time the snapshots may take: SNAPSHOTS_BUDGET_S, plus this share of the time the code
# has run (tracemalloc slows allocating code down far more); the sampled ones at most
# half of it, the last one the rest.
SNAPSHOTS_BUDGET_S = 1.0
SNAPSHOTS_BUDGET_SHARE = 0.1
# What a snapshot costs, per byte of tracemalloc's own memory (~60 per block traced),
# until one has been measured: ~15 ns measured on the development machine.
SNAPSHOT_SECONDS_PER_BYTE = 30e-9

# Worker
WORKER_CRASH_EXIT = 70  # EX_SOFTWARE: the harness itself failed in the worker
STDERR_TIMEOUT_S = 2.0  # flushing and printing the traceback run user code (__str__, flush)
MAX_CAUSE_DEPTH = 5  # causes reported below the exception that ended the run

# Variables (debug mode)
MAX_VARIABLES = 200  # encoded at most; those that do not fit the exit frame are left out
MAX_STRING_CHARS = 10_000
MAX_NESTED_STRING_CHARS = 1_000
MAX_REPR_CHARS = 1_000
MAX_ITEMS = 100
MAX_DEPTH = 4
# A size budget per variable, in characters of strings, reprs and dict keys plus
# one per container item: MAX_ITEMS at each of MAX_DEPTH levels alone allows 10**8 values.
MAX_VARIABLE_CHARS = 20_000
MAX_ARRAY_SIZE = 1_000
MAX_SAFE_INT = 2**53  # beyond this, JavaScript numbers lose precision
REPR_TIMEOUT_S = 0.5
VARIABLES_TIME_BUDGET_S = 2.0  # for all reprs together, however many time out
# The variables' capture ends this long before the job's deadline at the latest: the result
# must still be encoded and written before the supervisor kills the worker.
RESULT_TIME_MARGIN_S = 0.1
# Previews of DataFrames, Series and numpy arrays; harness-protocol.ts has the same constants.
MAX_PREVIEW_ROWS = 20
MAX_PREVIEW_COLUMNS = 50
MAX_PREVIEW_VALUES = 50
MAX_PREVIEW_CELL_CHARS = 200  # a string cell; also column names and dtypes (MAX_NAME_CHARS)
MAX_PREVIEW_DIMENSIONS = 32
# Null counts read every row: they stop when less than this is left of the variables' time.
NULL_COUNTS_RESERVE_S = 1.0

_CONTAINERS = (list, tuple, set, frozenset, dict)
_TOLIST_RESULTS = (list, tuple, int, float, bool, str, type(None))
_NOT_JSON = object()  # marks a value that JSON has no faithful form for

# Descriptors of the worker's fds kept free while the user's code runs: if it uses up
# its open-file limit, the report still has room to import what it needs.
FREE_FDS_KEPT = 2
# JSON's whitespace (RFC 8259), around a document.
JSON_SPACE = ' \t\n\r'


# --------------------------------------------------------------------------
# Supervisor
# --------------------------------------------------------------------------


def main():
    # Python turns SIGINT into KeyboardInterrupt, which the user's code could raise in
    # here with os.kill(1, SIGINT). Every other signal keeps its default action, which
    # the kernel never applies to PID 1 for a sender inside the container.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _make_undumpable()
    preload = _module_names(os.environ.pop(PRELOAD_ENV, ''))
    waiting = _WaitingWorker(preload)
    # os.wait4 imports it to build the worker's rusage: loaded while the payload is awaited
    # (~2 ms), not between the job's end and its exit frame.
    import resource  # noqa: F401
    try:
        payload, payload_bytes = _read_payload()
    except Exception as exc:  # whatever is wrong with stdin, it is a bad payload
        waiting.dismiss()
        _emit_harness_error(f'bad payload: {exc}')
    else:
        try:
            if 'batch' in payload:
                # Items are forked from here: only the modules they import are loaded first.
                waiting.dismiss()
                codes = [item['code'] for item in payload['items']]
                _preload([name for name in preload if _top_level(name) in _imported_names(*codes)])
                _supervise_batch(payload, sys.stdin.buffer)
            else:
                _receive_input_files(payload['files'], sys.stdin.buffer)
                _supervise(payload, payload_bytes, waiting)
        except _InputFileError as exc:
            _emit_harness_error(str(exc))
        except BaseException as exc:
            _emit_harness_error(f'supervisor failed: {type(exc).__name__}: {exc}')
        finally:
            waiting.dismiss()
    os._exit(0)


def _module_names(text):
    """The module names of a comma-separated list, without the entries that are not names."""
    return [name for name in text.split(',') if name and all(part.isidentifier() for part in name.split('.'))]


def _top_level(name):
    return name.partition('.')[0]


def _imported_names(*codes):
    """The top-level packages the code's import statements name, found without a parser:
    a line (or a `;`-separated part of one) that starts with `import` or `from`, wherever
    it is indented. An import the scan misses (importlib, exec) is imported when it runs."""
    names = set()
    for code in codes:
        for line in code[:MAX_IMPORT_SCAN_CHARS].splitlines():
            for statement in line.split(';'):
                words = statement.split()
                if len(words) < 2:
                    continue
                if words[0] == 'import':
                    for part in statement.split(None, 1)[1].split(','):
                        names.add(_top_level(part.strip().partition(' ')[0]))
                elif words[0] == 'from' and not words[1].startswith('.'):
                    names.add(_top_level(words[1]))
    return names


def _preload(names, imported=None):
    """Import the modules named, in this process, calling imported(name) after each: a module
    that fails to import is simply imported (or not) by the job as it would be without a
    preload. What they print is discarded, never left in a buffer that a later flush would
    send as a frame or as the job's own output."""
    streams = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = io.StringIO(), io.StringIO()
    try:
        for name in names:
            _import_quietly(name)
            if imported is not None:
                imported(name)
    finally:
        sys.stdout, sys.stderr = streams


def _import_quietly(name):
    try:
        __import__(name)
    except BaseException:  # SystemExit too: a module is no reason to lose the job
        pass


class _WaitingWorker:
    """A worker forked before its job is known (PROTOCOL.md, "The waiting worker").

    It imports the modules of SANDBOX_PRELOAD, if any, in a process of its own, then waits
    for its job: a job that finds it ready pays neither the fork nor the imports. The
    supervisor is never busy with it, so a job that arrives while it is still importing
    is never held up by modules it does not import: the supervisor then dismisses it and
    forks a worker of its own, as a cold container would. A job that imports a module
    still on its way waits for it instead, since the waiting worker is ahead.
    """

    def __init__(self, preload):
        self.preload = preload
        self.pipes = {name: os.pipe() for name in ('stdout', 'stderr', 'result')}
        job_read, self.job_write = os.pipe()
        self.status_read, status_write = os.pipe()
        self.forked_at = self.dismissed_at = time.monotonic()
        pid = os.fork()
        if pid == 0:
            os.close(self.job_write)
            os.close(self.status_read)
            _wait_for_job(preload, self.pipes, job_read, status_write)  # never returns
        os.close(job_read)
        os.close(status_write)
        self.worker = _Worker(pid)
        self.status = b''  # what the worker said so far: a line per module imported, then one empty
        self.status_ended = False
        self.dismissed = False

    def hand_over(self, payload, payload_bytes, deadline, figures_dir):
        """The worker running the job, or None when it was dismissed (the caller forks one)."""
        self._read_status(0)
        pending = [] if self._ready() else self.preload[self.status.count(b'\n') :]
        if self.status_ended and not self._ready():
            self.dismiss()  # it died importing
            return None
        if pending:
            if not _imported_names(payload['code']).intersection(map(_top_level, pending)):
                self.dismiss()
                return None
            # Blocks until the worker is ready or gone (a module that never finishes importing
            # waits until the job's deadline, which the fallback worker then meets at once).
            while not self._ready() and not self.status_ended and time.monotonic() < deadline:
                self._read_status(deadline - time.monotonic())
            if not self._ready():
                self.dismiss()
                return None
        header = _json_bytes({'deadline': deadline, 'figures_dir': figures_dir})
        try:
            _write_all(self.job_write, b'%d %d\n' % (len(header), len(payload_bytes)) + header + payload_bytes)
        except OSError:  # it died while waiting
            self.dismiss()
            return None
        os.close(self.job_write)
        self.dismissed = True  # handed over: nothing left to dismiss
        return self.worker

    def before_job(self):
        """(CPU time it spent before its job, the time it took to be ready), in seconds, as it
        reported them when it took the job: its imports' cost, not the job's to pay."""
        self._read_status(0)
        for line in reversed(self.status.split(b'\n')):
            if line.startswith(b'cpu '):
                try:
                    cpu_s, ready_s = (max(0.0, float(part)) for part in line[4:].split())
                    return cpu_s, ready_s
                except ValueError:
                    break
        return 0.0, None

    def preload_report(self, handed_over):
        """The exit frame's `preload`: how long the waiting worker took to be ready, or
        (not ready) how long it had been importing when the job came instead."""
        if handed_over:
            ready_s = self.before_job()[1]
            return None if ready_s is None else {'ready': True, 'ms': round(ready_s * 1000, 3)}
        return {'ready': False, 'ms': round((self.dismissed_at - self.forked_at) * 1000, 3)}

    def dismiss(self):
        """Kill the worker if its job was not handed over; close what it was given."""
        if self.dismissed:
            return
        self.dismissed = True
        self.dismissed_at = time.monotonic()
        self.worker.kill()
        self.worker.reap()
        os.close(self.job_write)
        os.close(self.status_read)
        for read_end, write_end in self.pipes.values():
            os.close(read_end)
            os.close(write_end)

    def _ready(self):
        return b'\n\n' in b'\n' + self.status

    def _read_status(self, timeout):
        if self.status_ended or len(self.status) > MAX_STATUS_BYTES:
            return
        ready, _, _ = select.select([self.status_read], [], [], max(timeout, 0))
        if not ready:
            return
        chunk = os.read(self.status_read, READ_CHUNK_BYTES)
        if chunk:
            self.status += chunk
        else:
            self.status_ended = True


def _wait_for_job(preload, pipes, job_read, status_write):
    """Body of the waiting worker: import the preload, say so, and run the job it is given.

    Its fds 1 and 2 are /dev/null until the job's pipes replace them: what a module prints
    while it is imported reaches neither the frames nor the job's output.
    """
    exit_code = WORKER_CRASH_EXIT
    forked_at = time.monotonic()
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.dup2(null, 2)
        os.close(null)
        _preload(preload, lambda name: _write_all(status_write, name.encode() + b'\n'))
        # A full collection writes to every tracked object, so the pages the worker shares
        # with the supervisor since the fork are copied now, not while the job runs (~10 ms).
        gc.collect()
        _write_all(status_write, b'\n')
        ready_s = time.monotonic() - forked_at
        job = _read_job(job_read)
        if job is None:
            os._exit(0)  # dismissed
        header, payload_bytes = job
        os.close(job_read)
        times = os.times()
        _write_all(status_write, b'cpu %r %r\n' % (times.user + times.system, ready_s))
        os.close(status_write)
        payload = _checked_job(_json_loads(payload_bytes.decode('utf-8'), parse_constant=float))
        exit_code = WORKER_CRASH_EXIT  # from here on, as any worker
    except BaseException:
        _quietly(_print_harness_bug)
        os._exit(exit_code)
    _worker_main(payload, pipes, header['deadline'], header['figures_dir'])


def _read_job(fd):
    """(header, payload bytes) as the supervisor sent them, or None when it closed the pipe.

    Read in chunks, the sizes line with them: nothing but the job ever comes down this
    pipe, and every syscall counts under gVisor.
    """
    data = bytearray()
    while b'\n' not in data:
        chunk = os.read(fd, READ_CHUNK_BYTES)
        if not chunk:
            return None
        data += chunk
    first, _, rest = bytes(data).partition(b'\n')
    header_size, payload_size = (int(part) for part in first.split())
    data = bytearray(rest)
    while len(data) < header_size + payload_size:
        chunk = os.read(fd, min(READ_CHUNK_BYTES, header_size + payload_size - len(data)))
        if not chunk:
            return None
        data += chunk
    header = _json_loads(bytes(data[:header_size]).decode('utf-8'), parse_constant=_reject_constant)
    return header, bytes(data[header_size:])


def _make_undumpable():
    """Keep the worker (same uid) from reopening our stdout through /proc/1/fd."""
    try:
        import ctypes  # here, so that a Python without ctypes still runs the harness

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    except Exception:
        pass  # best effort: the frames still come from this process only


def _read_payload():
    """The job (or the batch of items) on stdin, and its JSON's bytes; raises ValueError
    saying what is wrong with it.

    A line with the JSON's length in bytes, then the JSON: framed rather than read to
    EOF, so the runner never has to half-close its connection to the engine (a proxy in
    front of a remote engine may not carry a half-close).
    """
    stdin = sys.stdin.buffer
    header = stdin.readline(32)
    if not header.strip().isdigit():
        raise ValueError('the first line is not the length of the payload')
    length = int(header)
    data = stdin.read(length)
    if len(data) != length:
        raise ValueError(f'{len(data)} bytes arrived of the {length} announced')
    payload = _json_loads(data.decode('utf-8'), parse_constant=float)
    if not isinstance(payload, dict):
        raise ValueError('not a JSON object')
    if 'batch' in payload:
        return _checked_batch(payload), data
    return _checked_job(payload), data


def _checked_batch(payload):
    """A batch payload: `batch` ({"parallelism"}) and `items`, each a job payload."""
    batch = payload['batch']
    if type(batch) is not dict or type(batch.get('parallelism')) is not int:
        raise ValueError("field 'batch' is invalid")
    if not 1 <= batch['parallelism'] <= MAX_PARALLELISM:
        raise ValueError(f"field 'batch': parallelism is not within 1 and {MAX_PARALLELISM}")
    items = payload.get('items')
    if type(items) is not list:
        raise ValueError("field 'items' is invalid")
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise ValueError(f'item {index}: not a JSON object')
        try:
            _checked_job(item)
        except ValueError as exc:
            raise ValueError(f'item {index}: {exc}') from None
    return payload


def _checked_job(payload):
    """One job's payload, its fields checked (files and output_files normalized)."""
    checks = {
        'code': lambda v: isinstance(v, str),
        'filename': lambda v: isinstance(v, str) and v != '',
        'debug_mode': lambda v: isinstance(v, bool),
        'max_output_bytes': lambda v: type(v) is int and v >= 0,
        'time_limit_s': lambda v: type(v) in (int, float) and 0 < v < math.inf,
    }
    for field, valid in checks.items():
        if not valid(payload.get(field)):
            raise ValueError(f'field {field!r} is missing or invalid')
    if 'input_data' not in payload:
        raise ValueError("field 'input_data' is missing")
    if not isinstance(payload.get('stdin'), (str, type(None))):
        raise ValueError("field 'stdin' is invalid")
    payload['files'] = _checked_input_files(payload.get('files', []), payload['filename'])
    payload['output_files'] = _checked_output_files_request(payload.get('output_files'))
    payload['figures'] = _checked_figures_request(payload.get('figures'))
    if type(payload.get('profile', False)) is not bool:
        raise ValueError("field 'profile' is invalid")
    payload['profile'] = payload.get('profile', False)
    return payload


def _checked_input_files(files, filename):
    """The payload's files, each path checked again: the service checked them, but a
    path that leaves the working directory or replaces the code's file must never be written."""
    if type(files) is not list:
        raise ValueError("field 'files' is invalid")
    for file in files:
        if type(file) is not dict or type(file.get('path')) is not str or not _is_count(file.get('size')):
            raise ValueError("field 'files' is invalid")
        path = file['path']
        if not _is_plain_relative_path(path) or path == filename:
            raise ValueError(f'input file path {path!r} is refused')
    return files


def _is_plain_relative_path(path):
    """Relative, without empty, '.' or '..' parts (an absolute path starts with an empty part)."""
    return '\0' not in path and all(part not in ('', '.', '..') for part in path.split('/'))


def _checked_output_files_request(request):
    """The payload's output_files: null, or the budget of files sent back."""
    if request is None:
        return None
    if type(request) is not dict or not all(_is_count(request.get(key)) for key in ('max_count', 'max_bytes')):
        raise ValueError("field 'output_files' is invalid")
    return request


def _checked_figures_request(request):
    """The payload's figures: null, or the budget of the figures rendered and sent back;
    its max_count within MAX_FIGURES."""
    if request is None:
        return None
    fields = ('max_count', 'max_bytes', 'max_pixels')
    if type(request) is not dict or not all(_is_count(request.get(key)) for key in fields):
        raise ValueError("field 'figures' is invalid")
    return dict(request, max_count=min(request['max_count'], MAX_FIGURES))


class _InputFileError(Exception):
    """An input file could not be put in place; the message names it."""


def _receive_input_files(files, stdin):
    """Write each input file, whose bytes follow the payload on stdin in the payload's
    order, under the working directory, before the worker is forked: the files are
    there when the code starts. The tmpfs is fresh and no job code has run yet, so no
    link can stand in the way; O_EXCL and O_NOFOLLOW say so again."""
    for file in files:
        path = file['path']
        try:
            _receive_input_file(path, file['size'], stdin)
        except (OSError, ValueError) as exc:  # ENOSPC, EFBIG, a name the OS refuses...
            raise _InputFileError(f'input file {path!r}: {exc}') from None


def _receive_input_file(path, size, stdin):
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    try:
        remaining = size
        while remaining:
            chunk = stdin.read(min(remaining, READ_CHUNK_BYTES))  # never the whole file at once
            if not chunk:
                raise ValueError(f'{size - remaining} bytes arrived of the {size} announced')
            _write_all(fd, chunk)
            remaining -= len(chunk)
    finally:
        os.close(fd)


def _supervise(payload, payload_bytes, waiting):
    figures_dir = _figures_dir(os.getcwd(), payload)
    deadline = time.monotonic() + payload['time_limit_s']
    pipes = waiting.pipes
    worker = waiting.hand_over(payload, payload_bytes, deadline, figures_dir)
    if worker is None:
        pipes = {name: os.pipe() for name in ('stdout', 'stderr', 'result')}
        pid = os.fork()
        if pid == 0:
            _worker_main(payload, pipes, deadline, figures_dir)  # never returns
        worker = _Worker(pid)
    try:
        for _, write_end in pipes.values():
            os.close(write_end)
        read_ends = {name: read_end for name, (read_end, _) in pipes.items()}
        reader = _Reader(read_ends, payload['max_output_bytes'])
        timed_out = _forward_until_exit(worker, reader, deadline)
        worker.kill()  # whatever the worker started and left behind
        reader.drain(DRAIN_GRACE_S)
        status, rusage = worker.reap()
    finally:
        worker.kill()  # if the supervisor failed half-way; a no-op once reaped
    received = _received_result(reader)
    request = payload['output_files']
    # Only now: the worker and its group are dead, so nothing writes to out/ any more.
    output_files = _send_output_files(request) if request is not None else None
    if figures_dir is not None:
        _send_figures(payload['figures'], figures_dir, received[0])
    handed_over = worker is waiting.worker
    cpu_before_s = waiting.before_job()[0] if handed_over else 0.0
    preload = waiting.preload_report(handed_over)
    _emit(_exit_frame(status, rusage, timed_out, reader, received, output_files, cpu_before_s=cpu_before_s, preload=preload))


def _figures_dir(parent, payload):
    """Where the worker writes the PNGs of its figures, under parent: a random name, so
    that no code finds it before the worker makes it; None when the job asks for none."""
    if payload['figures'] is None:
        return None
    return os.path.join(parent, FIGURES_DIR_PREFIX + os.urandom(8).hex())


def _forward_until_exit(worker, reader, deadline):
    """Forward output until the worker exits; return True if the deadline killed it.

    Its end wakes the wait at once (SIGCHLD, through a wakeup fd): the worker's pipes close
    a moment before it can be reaped, so a wait on them alone would then sleep a whole
    poll interval. A worker that ended before the handler was set is seen by exited().
    """
    wakeup_read, wakeup_write = os.pipe()
    os.set_blocking(wakeup_read, False)
    os.set_blocking(wakeup_write, False)
    signal.set_wakeup_fd(wakeup_write, warn_on_full_buffer=False)
    signal.signal(signal.SIGCHLD, _on_child)
    reader.poller.register(wakeup_read, select.POLLIN)
    timed_out = False
    try:
        while not worker.exited():
            if not timed_out and time.monotonic() >= deadline:
                worker.kill()
                timed_out = True
            reader.pump(POLL_INTERVAL_S)
            _read_or_empty(wakeup_read, 4096)
    finally:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.set_wakeup_fd(-1)
        reader.poller.unregister(wakeup_read)
        os.close(wakeup_read)
        os.close(wakeup_write)
    return timed_out


# --------------------------------------------------------------------------
# Batches: many items of one caller in one container (PROTOCOL.md, "Batches")
# --------------------------------------------------------------------------


class _BatchItem:
    """One item of a batch while it runs: its worker, its pipes, its directory, its clock."""

    def __init__(self, index, payload, directory, worker, reader, deadline, figures_dir):
        self.index = index
        self.payload = payload
        self.directory = directory
        self.worker = worker
        self.reader = reader
        self.deadline = deadline
        self.figures_dir = figures_dir
        self.timed_out = False


def _supervise_batch(payload, stdin):
    """Run the batch's items, each in a worker forked from this pristine supervisor, at
    most `parallelism` at once, each in a fresh directory of its own, wiped once it ends.

    Every frame of an item carries its index; an item ends with its item_exit frame, or a
    harness_error frame tagged with it when it could not be run (an input file that could
    not be written). After the last item, the batch_exit frame.
    """
    items = payload['items']
    parallelism = payload['batch']['parallelism']
    workdir = os.getcwd()
    # Entries of the working directory that predate the items (a preload's cache, say).
    kept = set(os.listdir(workdir)) | {ITEMS_DIR}
    root = os.path.join(workdir, ITEMS_DIR)
    os.makedirs(root, mode=0o711, exist_ok=True)  # no listing: an item cannot find another
    if any(item['output_files'] is not None or item['figures'] is not None for item in items):
        import binascii  # noqa: F401 -- here, so that every item is forked with the same modules
    wakeup_read, wakeup_write = os.pipe()
    os.set_blocking(wakeup_read, False)
    os.set_blocking(wakeup_write, False)
    # A worker's end wakes the loop at once, rather than at its next poll.
    signal.set_wakeup_fd(wakeup_write, warn_on_full_buffer=False)
    signal.signal(signal.SIGCHLD, _on_child)
    poller = select.poll()
    poller.register(wakeup_read, select.POLLIN)
    owners = {}  # fd: the running item whose pipe it is
    running = []
    next_index = 0
    finished = 0
    try:
        while running or next_index < len(items):
            while next_index < len(items) and len(running) < parallelism:
                index, item = next_index, items[next_index]
                next_index += 1
                foreign = [wakeup_read, wakeup_write, *owners]
                try:
                    started = _start_item(index, item, root, workdir, stdin, foreign)
                except _InputFileError as exc:
                    # Stdin ended early: no later item's files can be read. The items
                    # running go on; the others are never run, and send no frame.
                    _emit_harness_error(str(exc))
                    next_index = len(items)
                    break
                if started is None:
                    finished += 1
                    continue
                running.append(started)
                for fd in started.reader.open_pipes:
                    poller.register(fd, select.POLLIN)
                    owners[fd] = started
            if not running:
                break  # every item has been run
            for fd, _ in poller.poll(POLL_INTERVAL_S * 1000):
                if fd == wakeup_read:
                    _read_or_empty(wakeup_read, 4096)
                    continue
                item = owners.get(fd)
                if item is None:
                    continue
                item.reader.read(fd)
                if fd not in item.reader.open_pipes:
                    poller.unregister(fd)
                    del owners[fd]
            now = time.monotonic()
            for item in list(running):
                if item.worker.exited():
                    for fd in list(item.reader.open_pipes):
                        poller.unregister(fd)
                        del owners[fd]
                    running.remove(item)
                    _finish_item(item)
                    finished += 1
                elif not item.timed_out and now >= item.deadline:
                    item.worker.kill()
                    item.timed_out = True
            _reap_orphans({item.worker.pid for item in running})
            if not running:
                _sweep_between_items(workdir, kept)
    finally:
        for item in running:
            item.worker.kill()
        signal.set_wakeup_fd(-1)
    _emit({'type': 'batch_exit', 'items': finished})


def _on_child(signum, frame):
    """SIGCHLD: nothing to do here; the wakeup fd has already woken the loop."""


def _start_item(index, payload, root, workdir, stdin, foreign_fds):
    """Receive the item's input files into a fresh directory of its own and fork its
    worker; None when its files could not be written (reported as its harness_error).

    Raises _InputFileError when stdin ends before the item's files do: nothing after
    that would be read right, so no further item can be run.
    """
    emit = _item_emitter(index)
    directory = os.path.join(root, f'{index}-{os.urandom(8).hex()}')
    os.mkdir(directory, 0o700)
    try:
        problem = _receive_item_files(payload['files'], stdin, directory)
    except _InputFileError:
        _wipe(directory)
        raise
    if problem is not None:
        _wipe(directory)
        emit({'type': 'harness_error', 'message': problem[:MAX_MESSAGE_CHARS]})
        return None
    pipes = {name: os.pipe() for name in ('stdout', 'stderr', 'result')}
    figures_dir = _figures_dir(directory, payload)
    deadline = time.monotonic() + payload['time_limit_s']
    pid = os.fork()
    if pid == 0:
        enter = lambda: _enter_item(directory, workdir, foreign_fds)  # noqa: E731
        _worker_main(payload, pipes, deadline, figures_dir, enter)  # never returns
    worker = _Worker(pid)
    try:
        for _, write_end in pipes.values():
            os.close(write_end)
        read_ends = {name: read_end for name, (read_end, _) in pipes.items()}
        emit({'type': 'item_start'})
        reader = _Reader(read_ends, payload['max_output_bytes'], emit)
        return _BatchItem(index, payload, directory, worker, reader, deadline, figures_dir)
    except BaseException:
        worker.kill()
        raise


def _item_emitter(index):
    """_emit for the frames of item `index`: each tagged with it."""
    return lambda frame: _emit(dict(frame, item=index))


def _receive_item_files(files, stdin, directory):
    """Write the item's input files under its directory, as _receive_input_files does for a
    job; what went wrong, or None. A file that cannot be written is read past, and the
    item's other files too, so that the next item's files are read right."""
    problem = None
    for file in files:
        path, size = file['path'], file['size']
        fd = None
        if problem is None:
            try:
                target = os.path.join(directory, path)
                os.makedirs(os.path.dirname(target), exist_ok=True)
                fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
            except (OSError, ValueError) as exc:
                problem = f'input file {path!r}: {exc}'
        try:
            remaining = size
            while remaining:
                chunk = stdin.read(min(remaining, READ_CHUNK_BYTES))
                if not chunk:
                    raise _InputFileError(
                        f'input file {path!r}: {size - remaining} bytes arrived of the {size} announced'
                    )
                remaining -= len(chunk)
                if fd is None:
                    continue
                try:
                    _write_all(fd, chunk)
                except OSError as exc:  # ENOSPC, EFBIG
                    problem = f'input file {path!r}: {exc}'
                    os.close(fd)
                    fd = None
        finally:
            if fd is not None:
                os.close(fd)
    return problem


def _enter_item(directory, workdir, foreign_fds):
    """In an item's worker, before the job's own steps: let go of what belongs to the
    supervisor and the other items, and make the item's directory its home."""
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    for fd in foreign_fds:  # the other items' pipes: their output is not this item's to read
        _quietly(os.close, fd)
    try:
        # The first one the kernel's OOM killer takes, so that an item that exhausts the
        # container's memory dies alone. Raising one's own score needs no privilege.
        fd = os.open(OOM_SCORE_ADJ_PATH, os.O_WRONLY | os.O_CLOEXEC)
        try:
            os.write(fd, b'1000')
        finally:
            os.close(fd)
    except OSError:
        pass  # best effort: a runtime without it (gVisor) still runs the item
    os.chdir(directory)
    for name, value in list(os.environ.items()):
        if value == workdir:  # HOME, MPLCONFIGDIR...: the item's directory instead
            os.environ[name] = directory
    os.environ['TMPDIR'] = directory


def _finish_item(item):
    """Reap the item's worker, send its output files and its item_exit frame, and wipe its
    directory: the next item never sees what this one left."""
    emit = item.reader.emit
    try:
        item.worker.kill()  # whatever the worker started and left behind
        item.reader.drain(DRAIN_GRACE_S)
        item.reader.close()
        status, rusage = item.worker.reap()
    finally:
        item.worker.kill()  # if the supervisor failed half-way; a no-op once reaped
    received = _received_result(item.reader)
    request = item.payload['output_files']
    output_dir = os.path.join(item.directory, OUTPUT_DIR)
    output_files = _send_output_files(request, output_dir, emit) if request is not None else None
    if item.figures_dir is not None:
        _send_figures(item.payload['figures'], item.figures_dir, received[0], emit)
    emit(_exit_frame(status, rusage, item.timed_out, item.reader, received, output_files, item=item.index))
    _wipe(item.directory)


def _reap_orphans(workers):
    """Reap the children that are not running items' workers: processes an item left
    behind, given to PID 1 when their parent died. A worker is left for its item's end."""
    while True:
        try:
            info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return
        if info is None or info.si_pid in workers:
            return
        try:
            os.waitpid(info.si_pid, 0)
        except ChildProcessError:
            return


def _sweep_between_items(workdir, kept):
    """With no item running: end what the items left running (as PID 1, the container's
    init, kill(-1) reaches every process but this one; anywhere else it would reach far
    more, so it is only ever sent from PID 1), and remove what they left in the working
    directory outside their own (a file written to /tmp by its full name)."""
    if os.getpid() == 1:
        _quietly(os.kill, -1, signal.SIGKILL)
        _reap_orphans(set())
    try:
        with os.scandir(workdir) as entries:
            strays = [entry.path for entry in entries if entry.name not in kept]
    except OSError:
        return
    for path in strays:
        _wipe(path)


def _wipe(path):
    """Remove path and all under it, never following a link, whatever the item did to the
    permissions of its directories. Best effort: what cannot be removed stays."""
    try:
        if not stat.S_ISDIR(os.lstat(path).st_mode):
            os.unlink(path)
            return
    except OSError:
        return
    pending = [path]  # directories, parents before their children: no recursion to overflow
    visited = []
    while pending:
        directory = pending.pop()
        visited.append(directory)
        _quietly(os.chmod, directory, 0o700)
        try:
            with os.scandir(directory) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        pending.append(entry.path)
                    else:
                        _quietly(os.unlink, entry.path)
        except OSError:
            continue
    for directory in reversed(visited):
        _quietly(os.rmdir, directory)


def _send_output_files(request, directory=OUTPUT_DIR, emit=None):
    """Send the regular files under out/ as file frames, in the order of their paths,
    each whole while it fits what is left of the request's count and bytes; return the
    exit frame's summary, which lists the others as omitted.

    Symlinks, fifos, sockets and devices are left out without a word: they have no
    bytes of their own to send, and reading a fifo could block. Whatever cannot be read
    (a directory, a file that changed or vanished) is counted as omitted, never an error:
    the exit frame must go out. The supervisor runs as the same user as the code, so a
    process the code left running that swaps a directory for a link while we walk gets
    nothing it could not have copied into out/ itself.
    """
    import binascii  # base64's C core; only jobs that ask for output files pay for it

    emit = emit or _emit
    files, uncounted = _output_files_found(directory)
    summary = {'sent': 0, 'omitted': [], 'omitted_count': uncounted}
    listing_bytes = 0
    room = request['max_bytes']
    for path, size in files:
        fits = summary['sent'] < request['max_count'] and size <= room
        if fits and _send_output_file(directory, path, size, binascii.b2a_base64, emit):
            summary['sent'] += 1
            room -= size
            continue
        summary['omitted_count'] += 1
        entry = {'path': path, 'size': size}
        listing_bytes += len(_json_bytes(entry)) + len(', ')
        if len(summary['omitted']) < MAX_OMITTED_LISTED and listing_bytes <= MAX_OMITTED_LISTING_BYTES:
            summary['omitted'].append(entry)
    return summary


def _output_files_found(output_dir):
    """([(path relative to out/, size)] sorted by path, how many more there were): the
    first MAX_OUTPUT_FILES_CONSIDERED regular files found, never through a symlink.

    A directory that cannot be listed counts as one more; no out/ directory is no files.
    """
    try:
        if not stat.S_ISDIR(os.lstat(output_dir).st_mode):
            return [], 0
    except OSError:
        return [], 0
    found = []
    uncounted = 0
    directories = ['']  # relative to out/, each ending in '/' but the first
    while directories:
        directory = directories.pop()
        try:
            with os.scandir(f'{output_dir}/{directory}') as entries:
                for entry in entries:
                    path = directory + entry.name
                    if entry.is_dir(follow_symlinks=False):
                        directories.append(path + '/')
                    elif not entry.is_file(follow_symlinks=False):
                        continue
                    elif len(found) < MAX_OUTPUT_FILES_CONSIDERED:
                        found.append((path, entry.stat(follow_symlinks=False).st_size))
                    else:
                        uncounted += 1
        except OSError:  # a directory that cannot be listed (or vanished while it was)
            uncounted += 1
    found.sort()
    return found, uncounted


def _send_output_file(output_dir, path, size, b2a_base64, emit):
    """Send out/<path> whole, as its file frame and data frames. False, having sent
    nothing, if it is no longer the regular file of `size` bytes it was when listed, or
    its name is not UTF-8 (the runner could not name it). False too if it shrank while
    being sent: the runner drops a file whose bytes end short.
    """
    try:
        path.encode('utf-8')  # a name that is not UTF-8 comes with surrogate escapes
    except UnicodeEncodeError:
        return False
    header = {'type': 'file', 'path': path}
    return _send_file(f'{output_dir}/{path}', header, lambda found: found == size, b2a_base64, emit) is not None


def _send_file(path, header, accepts, b2a_base64, emit):
    """Send the regular file at path whole: header with its size, then data frames,
    reading FILE_CHUNK_BYTES at a time. Its size, or None, having sent nothing, when it is
    no link, no regular file, or of a size accepts(size) refuses; None too if it shrank
    while being sent."""
    try:
        # O_NONBLOCK: a fifo put in its place must not block the supervisor.
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        status = os.fstat(fd)
        size = status.st_size
        if not stat.S_ISREG(status.st_mode) or not accepts(size):
            return None
        emit(dict(header, size=size))
        remaining = size
        while remaining:
            chunk = _read_or_empty(fd, min(remaining, FILE_CHUNK_BYTES))
            if not chunk:
                return None
            emit({'type': 'file_data', 'data': b2a_base64(chunk, newline=False).decode('ascii')})
            remaining -= len(chunk)
        return size
    finally:
        os.close(fd)


def _send_figures(request, directory, result, emit=None):
    """Send the PNG of each figure the result lists without an error, as a figure frame
    and data frames, within the request's count and bytes; then remove the directory.

    The result was checked, but the code could have written it, and the files too: a
    figure whose file is missing, no regular file, or over what is left of the budget is
    not sent, and its entry in the result (which the exit frame carries) says so.
    """
    emit = emit or _emit
    try:
        if result is None or result['figures'] is None:
            return
        import binascii  # base64's C core; only jobs whose code drew figures pay for it

        sent = 0
        room = request['max_bytes']
        for figure in result['figures']:
            if figure['error'] is not None:
                continue
            size = None
            if sent < request['max_count']:
                path = os.path.join(directory, f'{figure["index"]}.png')
                header = {'type': 'figure', 'index': figure['index']}
                size = _send_file(path, header, lambda found: found <= room, binascii.b2a_base64, emit)
            if size is None:
                figure['error'] = 'could not be sent'  # short: the exit frame's reserve has room for 50
                continue
            sent += 1
            room -= size
    finally:
        _wipe(directory)


def _read_or_empty(fd, size):
    """Up to size bytes of fd; none where the read fails. Writing frames may fail: reading may not."""
    try:
        return os.read(fd, size)
    except OSError:
        return b''


def _exit_frame(status, rusage, timed_out, reader, received, output_files, item=None, cpu_before_s=0.0, preload=None):
    """The exit frame; a batch item's `item_exit` frame, tagged with its index, when item is given.

    received: (result, result_error), as _received_result gives them; cpu_before_s: what the
    worker spent before its job (a waiting worker's imports), left out of its CPU time;
    preload: a job's `preload` (PROTOCOL.md, "The waiting worker, and preloading").
    """
    result, result_error = received
    frame = {
        'type': 'exit' if item is None else 'item_exit',
        'exit_code': os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
        'signal': os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
        'harness_timeout': timed_out,
        'max_rss_kb': rusage.ru_maxrss,
        'cpu_time_ms': round(max(0.0, rusage.ru_utime + rusage.ru_stime - cpu_before_s) * 1000, 3),
        'stdout_bytes': reader.outputs['stdout'].bytes_seen,
        'stderr_bytes': reader.outputs['stderr'].bytes_seen,
        'result': result,
        'result_error': result_error,
        'output_files': output_files,
    }
    if item is not None:
        frame['item'] = item
    else:
        frame['preload'] = preload
    if len(_frame_line(frame)) > MAX_EXIT_FRAME_BYTES:
        # The bounds above make this impossible; the runner's line limit must not depend on that arithmetic.
        frame.update(result=None, result_error='the result does not fit in the exit frame')
    return frame


def _received_result(reader):
    """(result, None) with the worker's result bounded for the exit frame, or (None, what was wrong).

    (None, None) when the worker sent nothing: it died or exited before reporting.
    The user's code can write to the result pipe too, so nothing in it is trusted.
    """
    if reader.result_bytes > MAX_RESULT_BYTES:
        return None, f'the result is longer than {MAX_RESULT_BYTES} bytes'
    if not reader.result:
        return None, None
    try:
        result = _json_loads(reader.result.decode('utf-8'), parse_constant=_reject_constant)
        _check_result(result)
    except UnicodeDecodeError:
        return None, 'the result is not UTF-8'
    except RecursionError:
        return None, 'the result is nested too deeply'
    except ValueError:
        return None, 'the result is not JSON'
    except _MalformedResult as problem:
        return None, str(problem)
    return _bounded_result(result), None


def _reject_constant(name):
    raise ValueError(f'{name} is not JSON')  # NaN/Infinity would break the consumer's parser


class _MalformedResult(Exception):
    """What is wrong with the result that arrived: its shape only, never data from it."""


_RESULT_FIELDS = {
    'duration_ms',
    'exceptions',
    'variables_after',
    'variables_omitted',
    'figures',
    'figures_omitted',
    'profile',
}
_EXCEPTION_FIELDS = {'type', 'message', 'line', 'frames', 'frames_omitted', 'cause', 'cause_relation'}
_FRAME_FIELDS = {'file', 'line', 'function', 'source'}
_VARIABLE_FIELDS = {'type', 'value', 'repr', 'truncated', 'preview'}
_PREVIEW_FIELDS = {
    'dataframe': {'kind', 'shape', 'columns', 'columns_omitted', 'index', 'rows', 'rows_omitted'},
    'series': {'kind', 'shape', 'name', 'dtype', 'nulls', 'index', 'values', 'values_omitted'},
    'ndarray': {'kind', 'shape', 'dtype', 'values', 'values_omitted'},
}
_PREVIEW_COLUMN_FIELDS = {'name', 'dtype', 'nulls'}
_FIGURE_FIELDS = {'index', 'title', 'error'}
_PROFILE_FIELDS = {
    'functions',
    'functions_omitted',
    'allocations',
    'peak_traced_bytes',
    'imports',
    'imports_omitted',
    'error',
}
_FUNCTION_FIELDS = {'function', 'file', 'line', 'calls', 'self_ms', 'cumulative_ms', 'user_code'}
_ALLOCATION_FIELDS = {'file', 'line', 'bytes', 'blocks', 'source'}
_IMPORT_FIELDS = {'module', 'ms'}


def _check_result(result):
    """Raise _MalformedResult unless result has exactly the shape the worker sends.

    A missing field reads as None, so it fails its own check, field by field.
    """
    _check_object(result, _RESULT_FIELDS, 'the result')
    duration_ms = result.get('duration_ms')
    _require(_is_safe_int(duration_ms) or _is_finite_float(duration_ms), 'duration_ms', 'a finite number')
    exceptions = result.get('exceptions')
    _require(type(exceptions) is list, 'exceptions', 'a list')
    _require(len(exceptions) <= 1, 'exceptions', 'a list of at most one exception')
    for exception in exceptions:
        _check_exception(exception, 'exceptions[0]', 0)
    variables = result.get('variables_after')
    _require(variables is None or type(variables) is dict, 'variables_after', 'null or an object')
    for variable in (variables or {}).values():
        _check_variable(variable)
    _require(_is_count(result.get('variables_omitted')), 'variables_omitted', 'a count')
    # get(..., False): a missing field that may be null is malformed too.
    figures = result.get('figures', False)
    _require(figures is None or type(figures) is list, 'figures', 'null or a list')
    _require(len(figures or ()) <= MAX_FIGURES, 'figures', f'a list of at most {MAX_FIGURES} figures')
    for position, figure in enumerate(figures or ()):
        _check_figure(figure, f'figures[{position}]', figures[position - 1]['index'] if position else -1)
    _require(_is_count(result.get('figures_omitted')), 'figures_omitted', 'a count')
    profile = result.get('profile', False)
    if profile is not None:
        _check_profile(profile)


def _check_exception(exception, path, depth):
    _require(depth <= MAX_CAUSE_DEPTH, path, f'within {MAX_CAUSE_DEPTH} causes of the first exception')
    _check_object(exception, _EXCEPTION_FIELDS, path)
    _require(type(exception.get('type')) is str, f'{path}.type', 'a string')
    _require(type(exception.get('message')) is str, f'{path}.message', 'a string')
    _require(_is_line(exception.get('line', False)), f'{path}.line', 'an integer or null')
    frames = exception.get('frames')
    _require(type(frames) is list, f'{path}.frames', 'a list')
    for index, frame in enumerate(frames):
        _check_frame(frame, f'{path}.frames[{index}]')
    _require(_is_count(exception.get('frames_omitted')), f'{path}.frames_omitted', 'a count')
    cause = exception.get('cause', False)
    if cause is not None:
        _check_exception(cause, f'{path}.cause', depth + 1)
    relation = exception.get('cause_relation', False)
    _require(
        relation is None if cause is None else relation in ('cause', 'context'),
        f'{path}.cause_relation',
        'null without a cause, else "cause" or "context"',
    )


def _check_frame(frame, path):
    _check_object(frame, _FRAME_FIELDS, path)
    _require(type(frame.get('file')) is str, f'{path}.file', 'a string')
    _require(_is_line(frame.get('line', False)), f'{path}.line', 'an integer or null')
    _require(type(frame.get('function')) is str, f'{path}.function', 'a string')
    source = frame.get('source', False)
    _require(source is None or type(source) is str, f'{path}.source', 'a string or null')


def _check_variable(variable):
    path = 'a variable in variables_after'  # not its name: that came from the pipe too
    _check_object(variable, _VARIABLE_FIELDS, path)
    _require(('value' in variable) != ('repr' in variable), path, 'an object with one of value and repr')
    _require(type(variable.get('type')) is str, f'{path}: its type', 'a string')
    _require(type(variable.get('truncated')) is bool, f'{path}: its truncated', 'a boolean')
    if 'repr' in variable:
        _require(type(variable['repr']) is str, f'{path}: its repr', 'a string')
    else:
        _check_value(variable['value'], 0)
    if 'preview' in variable:
        _check_preview(variable['preview'], f'{path}: its preview')


def _check_preview(preview, path):
    """A variable's preview, as _VariableEncoder makes it: a DataFrame's, a Series' or an array's."""
    kind = preview.get('kind') if type(preview) is dict else None
    _require(type(kind) is str and kind in _PREVIEW_FIELDS, path, 'a preview of a known kind')
    _check_object(preview, _PREVIEW_FIELDS[kind], path)
    shape = preview.get('shape')
    dimensions = {'dataframe': 2, 'series': 1}.get(kind)
    _require(
        type(shape) is list
        and len(shape) <= MAX_PREVIEW_DIMENSIONS
        and len(shape) == (dimensions if dimensions is not None else len(shape))
        and all(map(_is_size, shape)),
        f'{path}.shape',
        'a list of sizes, as many as the kind has dimensions',
    )
    if kind == 'dataframe':
        columns = preview.get('columns')
        _require(
            type(columns) is list and len(columns) <= MAX_PREVIEW_COLUMNS,
            f'{path}.columns',
            f'a list of at most {MAX_PREVIEW_COLUMNS} columns',
        )
        for column in columns:
            _check_object(column, _PREVIEW_COLUMN_FIELDS, f'{path}.columns[]')
            _require(type(column.get('name')) is str, f'{path}.columns[].name', 'a string')
            _require(type(column.get('dtype')) is str, f'{path}.columns[].dtype', 'a string')
            _require(_is_size_or_null(column.get('nulls', False)), f'{path}.columns[].nulls', 'a count or null')
        _check_preview_values(preview.get('index'), MAX_PREVIEW_ROWS, f'{path}.index')
        rows = preview.get('rows')
        _require(
            type(rows) is list and len(rows) <= MAX_PREVIEW_ROWS,
            f'{path}.rows',
            f'a list of at most {MAX_PREVIEW_ROWS} rows',
        )
        for row in rows:
            _check_preview_values(row, MAX_PREVIEW_COLUMNS, f'{path}.rows[]')
        omitted = ('columns_omitted', 'rows_omitted')
    else:
        _require(type(preview.get('dtype')) is str, f'{path}.dtype', 'a string')
        _check_preview_values(preview.get('values'), MAX_PREVIEW_VALUES, f'{path}.values')
        if kind == 'series':
            name = preview.get('name', False)
            _require(name is None or type(name) is str, f'{path}.name', 'a string or null')
            _require(_is_size_or_null(preview.get('nulls', False)), f'{path}.nulls', 'a count or null')
            _check_preview_values(preview.get('index'), MAX_PREVIEW_VALUES, f'{path}.index')
        omitted = ('values_omitted',)
    for field in omitted:
        _require(_is_size(preview.get(field)), f'{path}.{field}', 'a count')


def _check_preview_values(values, limit, path):
    _require(type(values) is list and len(values) <= limit, path, f'a list of at most {limit} values')
    for value in values:
        kind = type(value)
        _require(
            value is None or kind is bool or kind is str or _is_safe_int(value) or _is_finite_float(value),
            path,
            'a list of strings, finite numbers, booleans and nulls',
        )


def _check_figure(figure, path, previous_index):
    _check_object(figure, _FIGURE_FIELDS, path)
    index = figure.get('index')
    _require(_is_count(index) and index > previous_index, f'{path}.index', 'a count above the previous one')
    title = figure.get('title', False)
    _require(title is None or type(title) is str, f'{path}.title', 'a string or null')
    error = figure.get('error', False)
    _require(error is None or type(error) is str, f'{path}.error', 'a string or null')


def _check_profile(profile):
    _check_object(profile, _PROFILE_FIELDS, 'profile')
    functions = profile.get('functions')
    _require(
        type(functions) is list and len(functions) <= MAX_PROFILED_FUNCTIONS,
        'profile.functions',
        f'a list of at most {MAX_PROFILED_FUNCTIONS} functions',
    )
    for function in functions:
        path = 'profile.functions[]'
        _check_object(function, _FUNCTION_FIELDS, path)
        _require(type(function.get('function')) is str, f'{path}.function', 'a string')
        _require(type(function.get('file')) is str, f'{path}.file', 'a string')
        _require(_is_line(function.get('line', False)), f'{path}.line', 'an integer or null')
        _require(_is_size(function.get('calls')), f'{path}.calls', 'a count')
        for field in ('self_ms', 'cumulative_ms'):
            _require(_is_duration(function.get(field)), f'{path}.{field}', 'a finite number, not negative')
        _require(type(function.get('user_code')) is bool, f'{path}.user_code', 'a boolean')
    allocations = profile.get('allocations')
    _require(
        type(allocations) is list and len(allocations) <= MAX_ALLOCATION_SITES,
        'profile.allocations',
        f'a list of at most {MAX_ALLOCATION_SITES} sites',
    )
    for allocation in allocations:
        path = 'profile.allocations[]'
        _check_object(allocation, _ALLOCATION_FIELDS, path)
        _require(type(allocation.get('file')) is str, f'{path}.file', 'a string')
        _require(_is_line(allocation.get('line', False)), f'{path}.line', 'an integer or null')
        _require(_is_size(allocation.get('bytes')), f'{path}.bytes', 'a count')
        _require(_is_size(allocation.get('blocks')), f'{path}.blocks', 'a count')
        source = allocation.get('source', False)
        _require(source is None or type(source) is str, f'{path}.source', 'a string or null')
    imports = profile.get('imports')
    _require(
        type(imports) is list and len(imports) <= MAX_PROFILED_IMPORTS,
        'profile.imports',
        f'a list of at most {MAX_PROFILED_IMPORTS} imports',
    )
    for module in imports:
        _check_object(module, _IMPORT_FIELDS, 'profile.imports[]')
        _require(type(module.get('module')) is str, 'profile.imports[].module', 'a string')
        _require(_is_duration(module.get('ms')), 'profile.imports[].ms', 'a finite number, not negative')
    for field in ('functions_omitted', 'peak_traced_bytes', 'imports_omitted'):
        _require(_is_size(profile.get(field)), f'profile.{field}', 'a count')
    error = profile.get('error', False)
    _require(error is None or type(error) is str, 'profile.error', 'a string or null')


def _check_value(value, depth):
    """A variable's value: the JSON the worker's encoder produces (see _VariableEncoder)."""
    kind = type(value)
    if kind is list or kind is dict:
        # Deeper containers are sent as their repr, a string.
        _require(depth < MAX_DEPTH, 'a variable value', f'nested at most {MAX_DEPTH} deep')
        for item in value.values() if kind is dict else value:
            _check_value(item, depth + 1)
    else:
        _require(
            value is None or kind is bool or kind is str or _is_safe_int(value) or _is_finite_float(value),
            'a variable value',
            'JSON with finite numbers and integers within 2**53',
        )


def _check_object(value, fields, path):
    _require(type(value) is dict, path, 'an object')
    _require(value.keys() <= fields, path, f'free of fields other than {", ".join(sorted(fields))}')


def _require(condition, what, expected):
    if not condition:
        raise _MalformedResult(f'{what} is not {expected}')


def _is_safe_int(value):
    return type(value) is int and abs(value) <= MAX_SAFE_INT


def _is_finite_float(value):
    return type(value) is float and math.isfinite(value)


def _is_line(value):
    return value is None or _is_safe_int(value)


def _is_count(value):
    return type(value) is int and 0 <= value <= MAX_COUNT


def _is_size(value):
    """A count that can exceed MAX_COUNT (bytes, shapes, calls), within JavaScript's safe integers."""
    return type(value) is int and 0 <= value < MAX_SAFE_INT


def _is_size_or_null(value):
    return value is None or _is_size(value)


def _is_duration(value):
    return (_is_safe_int(value) or _is_finite_float(value)) and value >= 0


def _bounded_result(result):
    """A well-formed result cut to the bounds the worker applies, so that a forged one fits too."""
    figures = result['figures']
    profile = result['profile']
    bounded = {
        'duration_ms': result['duration_ms'],
        'exceptions': [_bounded_exception(exception) for exception in result['exceptions']],
        'variables_after': None,
        'variables_omitted': result['variables_omitted'],
        'figures': [_bounded_figure(figure) for figure in figures] if figures is not None else None,
        'figures_omitted': result['figures_omitted'],
        'profile': _bounded_profile(profile) if profile is not None else None,
    }
    if result['variables_after'] is not None:
        variables, omitted = _fit_variables(
            result['variables_after'].items(), _variables_room(bounded), _bounded_variable
        )
        bounded['variables_after'] = variables
        bounded['variables_omitted'] += omitted
    return bounded


def _bounded_exception(record):
    """An exception record (see _describe_exception) with every part cut to its bound."""
    frames, omitted = _kept_frames(record['frames'])
    cause = record['cause']
    return {
        'type': record['type'][:MAX_NAME_CHARS],
        'message': record['message'][:MAX_MESSAGE_CHARS],
        'line': record['line'],
        'frames': [_bounded_frame(frame) for frame in frames],
        'frames_omitted': record['frames_omitted'] + omitted,
        'cause': _bounded_exception(cause) if cause is not None else None,
        'cause_relation': record['cause_relation'],
    }


def _bounded_figure(figure):
    title, error = figure['title'], figure['error']
    return {
        'index': figure['index'],
        'title': title[:MAX_NAME_CHARS] if title is not None else None,
        'error': error[:MAX_ERROR_CHARS] if error is not None else None,
    }


def _bounded_profile(profile):
    error = profile['error']
    return {
        'functions': [
            dict(
                function,
                function=function['function'][:MAX_FRAME_TEXT_CHARS],
                file=function['file'][:MAX_FRAME_TEXT_CHARS],
            )
            for function in profile['functions']
        ],
        'functions_omitted': profile['functions_omitted'],
        'allocations': [_bounded_allocation(allocation) for allocation in profile['allocations']],
        'peak_traced_bytes': profile['peak_traced_bytes'],
        'imports': [dict(module, module=module['module'][:MAX_NAME_CHARS]) for module in profile['imports']],
        'imports_omitted': profile['imports_omitted'],
        'error': error[:MAX_ERROR_CHARS] if error is not None else None,
    }


def _bounded_allocation(allocation):
    source = allocation['source']
    return dict(
        allocation,
        file=allocation['file'][:MAX_FRAME_TEXT_CHARS],
        source=source[:MAX_FRAME_TEXT_CHARS] if source is not None else None,
    )


def _bounded_frame(frame):
    source = frame['source']
    return {
        'file': frame['file'][:MAX_FRAME_TEXT_CHARS],
        'line': frame['line'],
        'function': frame['function'][:MAX_FRAME_TEXT_CHARS],
        'source': source[:MAX_FRAME_TEXT_CHARS] if source is not None else None,
    }


def _kept_frames(frames):
    """(the frames to report, how many were left out): the outermost and innermost ones."""
    if len(frames) <= MAX_OUTER_FRAMES + MAX_INNER_FRAMES:
        return frames, 0
    kept = frames[:MAX_OUTER_FRAMES] + frames[-MAX_INNER_FRAMES:]
    return kept, len(frames) - len(kept)


def _bounded_variable(variable):
    """A variable that arrived on the result pipe, its strings cut as the worker cuts them.

    Its value is not walked again: _fit_variables bounds it by its encoded size.
    """
    bounded = dict(variable, type=variable['type'][:MAX_NAME_CHARS])
    if len(variable.get('repr', '')) > MAX_REPR_CHARS:
        bounded.update(repr=variable['repr'][:MAX_REPR_CHARS], truncated=True)
    return bounded


def _variables_room(result):
    """Bytes left in MAX_RESULT_BYTES for the variables of result, once all else is in."""
    # sys.maxsize: room for any count of omitted variables, whatever it turns out to be.
    skeleton = dict(result, variables_after={}, variables_omitted=sys.maxsize)
    return MAX_RESULT_BYTES - len(_json_bytes(skeleton))


def _fit_variables(candidates, room, encode):
    """(variables, how many were left out) from (name, value) candidates, within room bytes.

    Names are cut to MAX_NAME_CHARS. At most MAX_VARIABLES values are encoded; one
    is left out when its cut name is already taken or it does not fit what is left
    of room (without its preview, if it has one), and the next ones are still tried.
    """
    variables = {}
    omitted = 0
    encoded = 0
    for name, value in candidates:
        name = name[:MAX_NAME_CHARS]
        if encoded == MAX_VARIABLES or name in variables:
            omitted += 1
            continue
        encoded += 1
        variable = encode(value)
        # '"name": variable, ' in the variables object
        size = len(_json_bytes(name)) + len(_json_bytes(variable)) + len(': , ')
        if size > room and 'preview' in variable:
            # The variable without its preview may still fit.
            variable = {key: item for key, item in variable.items() if key != 'preview'}
            variable['truncated'] = True
            size = len(_json_bytes(name)) + len(_json_bytes(variable)) + len(': , ')
        if size > room:
            omitted += 1
            continue
        room -= size
        variables[name] = variable
    return variables, omitted


class _Worker:
    """The forked worker, as the supervisor sees it."""

    def __init__(self, pid):
        self.pid = pid
        self.reaped = False
        try:
            # The worker does this too. Whichever runs first, the group exists
            # before the supervisor could need to kill it.
            os.setpgid(pid, pid)
        except OSError:
            pass  # the worker got there first, or has already exited

    def exited(self):
        # WNOWAIT leaves the zombie in place: its pid, which is also the process
        # group id, cannot be reused by another process before kill() sweeps it.
        return os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None

    def kill(self):
        """SIGKILL the worker and everything still in its process group."""
        if self.reaped:
            return
        os.kill(self.pid, signal.SIGKILL)  # the worker may have left its own group
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass  # nothing is left in the group

    def reap(self):
        _, status, rusage = os.wait4(self.pid, 0)
        self.reaped = True
        return status, rusage


class _Reader:
    """Reads the worker's three pipes: output becomes frames, the result is kept."""

    def __init__(self, read_ends, max_output_bytes, emit=None):
        self.emit = emit or _emit
        self.outputs = {name: _Output(name, max_output_bytes) for name in ('stdout', 'stderr')}
        self.result = bytearray()  # at most MAX_RESULT_BYTES of it: more means a forged result
        self.result_bytes = 0
        self.open_pipes = {}  # fd: name
        self.poller = select.poll()
        for name, fd in read_ends.items():
            os.set_blocking(fd, False)
            self.poller.register(fd, select.POLLIN)
            self.open_pipes[fd] = name

    def pump(self, timeout):
        """Wait up to timeout for data, then take one chunk from each ready pipe (another fd
        registered by the caller only wakes the wait)."""
        for fd, _ in self.poller.poll(timeout * 1000):
            if fd in self.open_pipes:
                self.read(fd)

    def read(self, fd):
        """Take one chunk from the pipe fd, ready to be read; closes it at its end."""
        name = self.open_pipes[fd]
        try:
            chunk = os.read(fd, READ_CHUNK_BYTES)
        except BlockingIOError:
            return
        if not chunk:
            self.poller.unregister(fd)
            del self.open_pipes[fd]
            os.close(fd)
        elif name == 'result':
            # Read to the end even past the cap, so that the writer never blocks.
            self.result_bytes += len(chunk)
            if self.result_bytes <= MAX_RESULT_BYTES:
                self.result += chunk
        else:
            for frame in self.outputs[name].feed(chunk):
                self.emit(frame)

    def close(self):
        """Close the pipes still open (held by something the worker left running)."""
        for fd in list(self.open_pipes):
            self.poller.unregister(fd)
            del self.open_pipes[fd]
            os.close(fd)

    def drain(self, grace_s):
        """Read what is left, giving up on pipes still open after grace_s."""
        give_up_at = time.monotonic() + grace_s
        while self.open_pipes:
            remaining = give_up_at - time.monotonic()
            if remaining <= 0:
                break
            self.pump(remaining)
        for output in self.outputs.values():
            for frame in output.finish():
                self.emit(frame)


class _Output:
    """One output stream: UTF-8 decoding across chunk boundaries, the cap, the count."""

    def __init__(self, name, cap):
        self.name = name
        self.cap = cap
        self.bytes_seen = 0
        self.truncated = False
        self.decoder = codecs.getincrementaldecoder('utf-8')(errors='replace')

    def feed(self, chunk):
        """The frames for one chunk the worker wrote."""
        room = max(self.cap - self.bytes_seen, 0)
        self.bytes_seen += len(chunk)
        over = len(chunk) > room
        # Past the cap, the decoder is finished off so a cut character shows as U+FFFD.
        frames = self._data(self.decoder.decode(chunk[:room], final=over))
        if over and not self.truncated:
            self.truncated = True
            frames.append({'type': 'truncated', 'stream': self.name})
        return frames

    def finish(self):
        return self._data(self.decoder.decode(b'', final=True))

    def _data(self, text):
        return [{'type': self.name, 'data': text}] if text else []


def _emit(frame):
    _write_all(1, _frame_line(frame))


def _frame_line(frame):
    return _json_bytes(frame) + b'\n'


def _json_bytes(value):
    """value as it is written in a frame, and measured against the bounds."""
    # A lone surrogate (from a user's string) can only sit inside a JSON string,
    # where backslashreplace turns it into its JSON escape \udXXX.
    return _json_dumps(value).encode('utf-8', 'backslashreplace')


def _json_dumps(value):
    """json.dumps(value, ensure_ascii=False): the C encoder json.dumps itself runs."""
    # Arguments: markers (a fresh dict: circular references raise ValueError), default,
    # string encoder, indent, key and item separators, sort_keys, skipkeys, allow_nan.
    encode = _json.make_encoder({}, _not_json_serializable, _json.encode_basestring, None, ': ', ', ', False, False, True)
    return ''.join(encode(value, 0))


def _not_json_serializable(value):
    raise TypeError(f'Object of type {type(value).__name__} is not JSON serializable')


def _json_loads(text, parse_constant):
    """json.loads(text, parse_constant=...) through the C scanner json.loads itself runs.

    Raises ValueError (json's JSONDecodeError where the scanner says why) or RecursionError.
    """
    scan = _json.make_scanner(_JsonOptions(parse_constant))
    start = len(text) - len(text.lstrip(JSON_SPACE))
    try:
        value, end = scan(text, start)
    except StopIteration:
        raise ValueError('no JSON value') from None
    if text[end:].strip(JSON_SPACE):
        raise ValueError('data after the JSON value')
    return value


class _JsonOptions:
    """What json's C scanner reads off a JSONDecoder: json.loads's defaults."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int

    def __init__(self, parse_constant):
        self.parse_constant = parse_constant


def _emit_harness_error(message):
    try:
        _emit({'type': 'harness_error', 'message': message[:MAX_MESSAGE_CHARS]})
    except OSError:
        pass  # stdout itself is gone: there is no one left to tell


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


# --------------------------------------------------------------------------
# Worker
# --------------------------------------------------------------------------


def _worker_main(payload, pipes, deadline, figures_dir, enter=None):
    """Body of the forked worker. Never returns into the supervisor's code.

    deadline: when the supervisor kills it (time.monotonic()); figures_dir: where it writes
    the PNGs of its figures, or None. `enter`, for a batch item: called first, to give the
    worker the item's own place.
    """
    exit_code = WORKER_CRASH_EXIT
    try:
        if enter is not None:
            enter()
        exit_code = _run_worker(payload, pipes, deadline, figures_dir)
    except BaseException:
        # A harness bug: leave a trace on stderr; the supervisor will report result null.
        _quietly(_print_harness_bug)
    finally:
        os._exit(exit_code)


def _print_harness_bug():
    import traceback

    traceback.print_exc(file=_text_stream(2))


def _run_worker(payload, pipes, deadline, figures_dir):
    """Run the user's code, send the result, and return the exit status."""
    # The supervisor ignores SIGINT; the user's code gets it as under `python main.py`.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    worker_pid = os.getpid()
    result_fd = _wire_fds(pipes, payload.get('stdin'))
    result_pipe = _fd_identity(result_fd)
    filename, code = payload['filename'], payload['code']
    namespace = _main_namespace(filename, payload['input_data'])
    if not _write_source(filename, code):
        _register_source(filename, code)
    figures = _Figures(payload['figures'], figures_dir, deadline) if figures_dir is not None else None
    profile = _Profile(filename, deadline) if payload['profile'] else None
    import_path = list(sys.path)
    free_fds = _keep_free_fds()
    recursion_limit = sys.getrecursionlimit()
    if figures is not None:
        figures.watch()

    error, duration_ms = _run_user_code(code, filename, namespace, profile)

    if figures is not None:
        figures.stop_watching()
    _reclaim_process_state(recursion_limit, import_path, free_fds)
    if error is not None or profile is not None:
        # What the report shows is the code that ran, whatever became of its file.
        _register_source(filename, code)
    for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
        _quietly(_call_with_timeout, STDERR_TIMEOUT_S, _flush, stream)
    _quietly(_call_with_timeout, STDERR_TIMEOUT_S, _print_ending, error)
    exit_code = _exit_status(error)
    if os.getpid() != worker_pid or _fd_identity(result_fd) != result_pipe:
        # A fork of the worker that ran on to the end, or the user's code closed
        # the result pipe (its fd may now be some other file): nothing to send.
        return exit_code
    result = {
        'duration_ms': duration_ms,
        'exceptions': _exceptions_report(error, filename),
        'variables_after': None,
        'variables_omitted': 0,
        'figures': None,
        'figures_omitted': 0,
        'profile': profile.report() if profile is not None else None,
    }
    if figures is not None:
        # The figures the code left open, after those it showed.
        result['figures'], result['figures_omitted'] = figures.finish()
    if payload['debug_mode']:
        variables_deadline = min(time.monotonic() + VARIABLES_TIME_BUDGET_S, deadline - RESULT_TIME_MARGIN_S)
        variables, omitted = _capture_variables(
            namespace, payload['input_data'], _variables_room(result), variables_deadline
        )
        result.update(variables_after=variables, variables_omitted=omitted)
    _write_all(result_fd, _json_bytes(result))
    return exit_code


def _wire_fds(pipes, stdin_text):
    """Put the worker's stdin on the job's stdin text and fds 1 and 2 on the output pipes.

    Returns the result pipe's write end, the only other pipe end kept open. It is
    non-inheritable (os.pipe's default), so programs the user's code starts never
    get it; fds 0, 1 and 2 they do get, as they would from a shell.
    """
    os.setpgid(0, 0)  # its own group, so the supervisor can kill all it starts at once
    stdin_fd = _stdin_fd(stdin_text)
    os.dup2(stdin_fd, 0)
    os.close(stdin_fd)
    os.dup2(pipes['stdout'][1], 1)
    os.dup2(pipes['stderr'][1], 2)
    result_fd = pipes['result'][1]
    for read_end, write_end in pipes.values():
        os.close(read_end)
        if write_end != result_fd:
            os.close(write_end)
    sys.stdin = sys.__stdin__ = open(0, encoding='utf-8', closefd=False)
    sys.stdout = sys.__stdout__ = _text_stream(1)
    sys.stderr = sys.__stderr__ = _text_stream(2)
    return result_fd


def _stdin_fd(text):
    """What the worker's fd 0 reads: /dev/null without stdin text (EOF at once), else an
    anonymous in-memory file holding the text in UTF-8, read from its start, then EOF.

    A file rather than a pipe: it holds the whole text at once, so nothing has to feed
    it while the code runs, and it is a real fd 0, so input(), sys.stdin, os.read(0)
    and the programs the code starts all read it, as under `python main.py < file`.
    The container's own stdin carried the harness and the payload: the code never sees
    it. A lone surrogate, which UTF-8 cannot carry, becomes '?'.
    """
    if text is None:
        return os.open(os.devnull, os.O_RDONLY)
    fd = os.memfd_create('stdin', os.MFD_CLOEXEC)
    _write_all(fd, text.encode('utf-8', 'replace'))
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def _text_stream(fd):
    return io.TextIOWrapper(
        open(fd, 'wb', closefd=False),
        encoding='utf-8',
        errors='backslashreplace',
        line_buffering=True,
        write_through=True,
    )


def _fd_identity(fd):
    try:
        stat = os.fstat(fd)
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


def _main_namespace(filename, input_data):
    """Globals for the user's code, as a fresh __main__ module.

    It replaces the harness in sys.modules['__main__'] so that `import __main__`,
    and pickling classes the code defines, behave as in `python main.py`.
    """
    module = types.ModuleType('__main__')
    module.__dict__.update(__builtins__=builtins, __file__=filename, input_data=input_data)
    sys.modules['__main__'] = module
    sys.argv = [filename]
    return module.__dict__


def _write_source(filename, code):
    """Write the code where `python main.py` would have read it (the working directory,
    a fresh tmpfs): tracebacks, warnings and inspect find their source lines there, as
    they would, without importing linecache ahead. False if it cannot be written."""
    try:
        with open(filename, 'x', encoding='utf-8', errors='surrogatepass') as file:
            file.write(code)
    except (OSError, ValueError):
        return False
    return True


def _register_source(filename, code):
    import linecache

    # mtime None: linecache.checkcache keeps the entry although no such file exists.
    linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)


def _keep_free_fds():
    """Descriptors held while the user's code runs, and what they are, given back for the report."""
    fds = [os.open(os.devnull, os.O_RDONLY) for _ in range(FREE_FDS_KEPT)]
    return [(fd, _fd_identity(fd)) for fd in fds]


def _run_user_code(code, filename, namespace, profile):
    """Compile and run the code, under the profile if there is one; return (the exception
    that ended it or None, run time in ms)."""
    try:
        compiled = compile(code, filename, 'exec', dont_inherit=True)
    except Exception as exc:  # SyntaxError, or ValueError for a NUL byte in the source
        return exc, 0.0
    # Module code called as a function runs as exec(compiled, namespace) would (code that
    # is not a function's takes its globals for locals), and the profile, enabled just
    # before the call, sees the module's own frame rather than a call of builtin exec.
    module_code = types.FunctionType(compiled, namespace)
    started = time.perf_counter()
    if profile is not None:
        profile.start()
    try:
        if profile is None:
            module_code()
        else:
            # tracemalloc records the innermost TRACEMALLOC_FRAMES frames of every allocation,
            # and finds each one's line by reading its code's line table up to where it is:
            # the harness's module-level frame alone has a table of ~3 KB. Below this many
            # tiny frames, it never reaches the harness's: allocating code ran ~10x faster.
            _called_deep(TRACEMALLOC_FRAMES, module_code)
        error = None
    except BaseException as exc:  # SystemExit and KeyboardInterrupt end the program too
        error = exc
    ended = profile.stop() if profile is not None else time.perf_counter()
    return error, (ended - started) * 1000


def _called_deep(depth, func):
    """func(), called depth frames further down the stack."""
    return func() if depth == 0 else _called_deep(depth - 1, func)


def _reclaim_process_state(recursion_limit, import_path, free_fds):
    """Undo what the user's code may have changed that the report depends on."""
    for fd, identity in free_fds:
        if _fd_identity(fd) == identity:  # the user's code may have closed it and reused the number
            os.close(fd)
    sys.path = list(import_path)  # the report may import traceback, linecache, reprlib
    for timer in (signal.ITIMER_REAL, signal.ITIMER_VIRTUAL, signal.ITIMER_PROF):
        signal.setitimer(timer, 0)
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGALRM})
    # The user's code is over: an interrupt from what it left running could only break the report.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sys.setrecursionlimit(recursion_limit)


def _flush(stream):
    stream.flush()


def _print_ending(error):
    """Tell stderr how the program ended, as the python executable would."""
    if error is None:
        return
    stream = _text_stream(2)  # a fresh one: the user's code may have closed or replaced sys.stderr
    if isinstance(error, SystemExit):
        if error.code is not None and not isinstance(error.code, int):
            print(error.code, file=stream)
        return
    import traceback

    tb = _without_harness_frames(error.__traceback__)
    traceback.print_exception(type(error), error, tb, file=stream)


def _exit_status(error):
    if error is None:
        return 0
    if not isinstance(error, SystemExit):
        return 1
    if error.code is None:
        return 0
    if isinstance(error.code, int):
        return error.code & 0xFF  # what the OS would make of it; os._exit rejects huge ints
    return 1  # sys.exit('message'): Python prints the message and exits 1


def _quietly(func, *args):
    """Best effort: run func, ignoring any failure, for steps that must not stop the report."""
    try:
        func(*args)
    except BaseException:
        pass


# --------------------------------------------------------------------------
# Bounding the time of user code the harness calls (repr, __str__, flush...)
# --------------------------------------------------------------------------


class _Timeout(BaseException):
    """Raised from SIGALRM. A BaseException, so `except Exception` in user code cannot swallow it."""


def _on_alarm(signum, frame):
    raise _Timeout()


def _call_with_timeout(seconds, func, *args):
    # setitimer(…, 0) would disarm the timer instead of firing at once.
    signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.001))
    try:
        return func(*args)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def _call_keeping_alarm(seconds, func, *args):
    """_call_with_timeout from inside the user's code (plt.show()): the code's own SIGALRM
    handler and timer are put back afterwards, the timer less the time spent here. Outside
    the main thread no handler can be set: func runs unbounded, as the code's own calls do."""
    try:
        handler = signal.signal(signal.SIGALRM, _on_alarm)
    except ValueError:
        return func(*args)
    delay, interval = signal.setitimer(signal.ITIMER_REAL, 0)
    started = time.monotonic()
    try:
        return _call_with_timeout(seconds, func, *args)
    finally:
        if handler is not None:  # None: set from C, so it cannot be put back
            signal.signal(signal.SIGALRM, handler)
        if delay:
            signal.setitimer(signal.ITIMER_REAL, max(delay - (time.monotonic() - started), 0.001), interval)


# --------------------------------------------------------------------------
# Figures (PROTOCOL.md, "Figures")
# --------------------------------------------------------------------------


class _Figures:
    """The matplotlib figures of one job: those plt.show() shows, then those left open.

    The harness never imports matplotlib: until the code imports pyplot, a finder at the
    head of sys.meta_path waits for it, and wraps its show() once it is loaded (at once,
    when a warm container preloaded it). Each figure is described in capture order: its
    title and the error that kept it from being rendered, if any; its PNG goes to
    `<directory>/<index>.png`, which the supervisor sends once the worker has ended.
    """

    def __init__(self, request, directory, deadline):
        self.max_count = request['max_count']
        self.room = request['max_bytes']
        self.max_pixels = request['max_pixels']
        self.directory = directory
        self.deadline = deadline
        self.described = []
        self.omitted = 0
        self.finder = None

    def watch(self):
        """Before the code runs: have plt.show() capture the figures, now or once pyplot is imported."""
        pyplot = sys.modules.get(PYPLOT)
        if pyplot is not None:
            self._wrap_show(pyplot)
        else:
            self.finder = _PyplotFinder(self._wrap_show)
            sys.meta_path.insert(0, self.finder)

    def stop_watching(self):
        """Once the code is over: the finder leaves sys.meta_path (if the code left it there)."""
        try:
            sys.meta_path.remove(self.finder)
        except Exception:  # not there, or sys.meta_path is no longer a list
            pass

    def finish(self):
        """(figures, how many were omitted) once the code is over: the figures left open are
        captured after those shown. figures is None when no figure was captured at all: the
        same whether the code imported pyplot or a warm container had preloaded it."""
        if sys.modules.get(PYPLOT) is not None:
            self._capture_open_figures()
        if not self.described and not self.omitted:
            return None, 0
        return self.described, self.omitted

    def _wrap_show(self, pyplot):
        original = pyplot.__dict__.get('show')

        def show(*args, **kwargs):
            """Capture every open figure, then close them all, as a notebook's inline backend does."""
            self._capture_open_figures()
            try:
                _call_keeping_alarm(FIGURE_RENDER_TIMEOUT_S, pyplot.close, 'all')
            except BaseException:
                pass

        show.__doc__ = getattr(original, '__doc__', None)
        show.__wrapped__ = original
        pyplot.show = show

    def _capture_open_figures(self):
        try:
            figures = _call_keeping_alarm(FIGURE_RENDER_TIMEOUT_S, _open_figures)
        except BaseException:
            return
        for figure in figures:
            self._capture(figure)

    def _capture(self, figure):
        index = len(self.described)
        if index >= self.max_count:
            self.omitted += 1
            return
        entry = {'index': index, 'title': None, 'error': None}
        self.described.append(entry)
        remaining = self.deadline - FIGURES_TIME_MARGIN_S - time.monotonic()
        if remaining <= 0:
            entry['error'] = 'no time left to render'
            return
        try:
            entry['title'] = _call_keeping_alarm(min(FIGURE_RENDER_TIMEOUT_S, remaining), _figure_title, figure)
            remaining = self.deadline - FIGURES_TIME_MARGIN_S - time.monotonic()
            png = _call_keeping_alarm(min(FIGURE_RENDER_TIMEOUT_S, remaining), _render_png, figure, self.max_pixels)
        except _Timeout:
            entry['error'] = 'rendering took too long'
            return
        except BaseException as exc:  # a figure that cannot be drawn must not sink the others
            entry['error'] = _error_text(exc)
            return
        if len(png) > self.room:
            entry['error'] = 'larger than the figures budget'
            return
        try:
            self._write(index, png)
        except OSError as exc:  # the tmpfs full, a file over the fsize limit...
            entry['error'] = _error_text(exc)
            return
        self.room -= len(png)

    def _write(self, index, png):
        try:
            os.mkdir(self.directory, 0o700)  # at the first PNG: until then no code sees it
        except FileExistsError:
            pass
        path = os.path.join(self.directory, f'{index}.png')
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            _write_all(fd, png)
        finally:
            os.close(fd)


class _PyplotFinder:
    """A meta path finder that only answers for matplotlib.pyplot: it finds it as the
    other finders do, and has its loader call on_pyplot(module) once the module is loaded.
    Every other import goes on as if it were not there, and nothing is imported ahead."""

    def __init__(self, on_pyplot):
        self.on_pyplot = on_pyplot

    def find_spec(self, fullname, path=None, target=None):
        if fullname != PYPLOT:
            return None
        for finder in list(sys.meta_path):
            find_spec = getattr(finder, 'find_spec', None) if finder is not self else None
            spec = find_spec(fullname, path, target) if find_spec is not None else None
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        exec_module = getattr(loader, 'exec_module', None)
        if exec_module is None:
            return spec

        def exec_and_watch(module):
            try:
                exec_module(module)
            finally:
                del loader.exec_module  # the loader is as it was: a reload finds pyplot again
            self.on_pyplot(module)

        try:
            loader.exec_module = exec_and_watch
        except Exception:  # a loader with __slots__: the figures left open are still captured
            pass
        return spec


def _open_figures():
    """The figures pyplot holds open, by number."""
    helpers = sys.modules.get('matplotlib._pylab_helpers')
    if helpers is None:
        return []
    managers = sorted(helpers.Gcf.get_all_fig_managers(), key=lambda manager: manager.num)
    return [manager.canvas.figure for manager in managers]


def _figure_title(figure):
    """Its suptitle, else its first axes' title, else None."""
    suptitle = getattr(figure, '_suptitle', None)
    texts = [suptitle.get_text()] if suptitle is not None else []
    if figure.axes:
        texts += [figure.axes[0].get_title(loc) for loc in ('center', 'left', 'right')]
    title = next((text for text in texts if type(text) is str and text), None)
    return title[:MAX_NAME_CHARS] if title is not None else None


def _render_png(figure, max_pixels):
    """The figure as a PNG of at most max_pixels: at its own dpi, or lower."""
    width, height = figure.get_size_inches()
    dpi = figure.dpi
    if width * height * dpi * dpi > max_pixels:
        dpi = math.sqrt(max_pixels / (width * height))
    png = _savefig_png(figure, dpi)
    pixels = _png_pixels(png)
    if pixels > max_pixels:
        # The rcParams' savefig.bbox 'tight' can make it larger than the figure: once more, smaller.
        png = _savefig_png(figure, dpi * math.sqrt(max_pixels / pixels) * 0.99)
        pixels = _png_pixels(png)
        if pixels > max_pixels:
            raise ValueError(f'{pixels} pixels, over the {max_pixels} allowed')
    return png


def _savefig_png(figure, dpi):
    buffer = io.BytesIO()
    figure.savefig(buffer, format='png', dpi=dpi)
    return buffer.getvalue()


def _png_pixels(png):
    """Width times height, from the PNG's header (its IHDR chunk comes first)."""
    if type(png) is not bytes or png[:8] != PNG_SIGNATURE or len(png) < 24:
        raise ValueError('savefig wrote no PNG')
    return int.from_bytes(png[16:20], 'big') * int.from_bytes(png[20:24], 'big')


def _error_text(exc):
    """'Type: message' of an exception, bounded; its str() is the code's, so it is bounded in time too."""
    try:
        message = _call_keeping_alarm(REPR_TIMEOUT_S, str, exc)
    except BaseException:
        message = '<exception str() failed>'
    return f'{_qualified_name(type(exc))}: {message}'[:MAX_ERROR_CHARS]


# --------------------------------------------------------------------------
# Profile (PROTOCOL.md, "Profile")
# --------------------------------------------------------------------------


class _Profile:
    """What the code spent its time and memory on: cProfile's C core around the code's
    call, tracemalloc, and the time of each import the code made of a module not yet loaded.

    tracemalloc cannot tell which blocks were held at the peak, so the allocation sites
    come from snapshots: every PROFILE_SAMPLE_INTERVAL_S of CPU time, SIGPROF reads how
    much is traced (O(1)), and takes a snapshot once that has grown by SNAPSHOT_GROWTH_RATIO
    and SNAPSHOT_GROWTH_MIN_BYTES since the last one; one more when the code ends, if
    more is traced then. The largest snapshot gives the sites. A snapshot costs time in
    proportion to the blocks traced, so they stop within SNAPSHOTS_BUDGET_S.
    """

    def __init__(self, filename, deadline):
        import _lsprof  # the C cores: cProfile and tracemalloc import a dozen modules each
        import _operator
        import _tracemalloc

        self.filename = filename
        self.deadline = deadline
        self.profiler = _lsprof.Profiler()
        self.tracemalloc = _tracemalloc
        # _get_traces() gives (domain, size, traceback, total frames) tuples.
        self.size_of = _operator.itemgetter(1)
        self.traceback_of = _operator.itemgetter(2)
        self.harness_file = _Profile.__init__.__code__.co_filename
        self.problems = []
        self.original_import = None
        self.importing = False
        self.import_times = {}  # module: seconds, for the first MAX_IMPORTS_KEPT modules
        self.imports_uncounted = 0
        self.sampling = False
        self.sites = None  # the largest snapshot's: {(file, line): [bytes, blocks]}
        self.sites_total = -1  # the bytes traced in it
        self.next_snapshot_at = SNAPSHOT_GROWTH_MIN_BYTES
        self.snapshots_s = 0.0
        self.seconds_per_byte = SNAPSHOT_SECONDS_PER_BYTE
        self.peak = 0
        self.started = None

    def start(self):
        """Right before the code."""
        self.original_import = builtins.__import__
        builtins.__import__ = self._timed_import
        self.tracemalloc.start(TRACEMALLOC_FRAMES)
        signal.signal(signal.SIGPROF, self._on_sample)
        signal.siginterrupt(signal.SIGPROF, False)  # SA_RESTART: a sample interrupts no system call
        signal.setitimer(signal.ITIMER_PROF, PROFILE_SAMPLE_INTERVAL_S, PROFILE_SAMPLE_INTERVAL_S)
        self.started = time.perf_counter()
        self.profiler.enable()  # last: what runs from here on is the code

    def stop(self):
        """Right after the code: stop it all, take the last snapshot; the time the code ended."""
        profiled = sys.getprofile() is self.profiler
        self.profiler.disable()
        ended = time.perf_counter()
        signal.setitimer(signal.ITIMER_PROF, 0)
        sampled = signal.getsignal(signal.SIGPROF) == self._on_sample
        # Not SIG_DFL: a SIGPROF the code arranged for would end the worker.
        signal.signal(signal.SIGPROF, signal.SIG_IGN)
        builtins.__import__ = self.original_import
        if not profiled:
            self.problems.append('the code replaced the profiler (sys.setprofile): functions are missing')
        if not sampled:
            self.problems.append('the code replaced the SIGPROF handler: allocations are from the end only')
        if self.tracemalloc.is_tracing():
            self._last_snapshot()
        else:
            since = 'allocations are from before' if self.sites is not None else 'no allocations'
            self.problems.append(f'the code stopped tracemalloc: {since}')
        self.tracemalloc.stop()  # a no-op after the last snapshot's
        return ended

    def report(self):
        """The result's profile, once the code is over."""
        functions, functions_omitted = self._functions()
        imports = sorted(((seconds, module) for module, seconds in self.import_times.items()), reverse=True)
        return {
            'functions': functions,
            'functions_omitted': functions_omitted,
            'allocations': self._allocations(),
            'peak_traced_bytes': self.peak,
            'imports': [
                {'module': module[:MAX_NAME_CHARS], 'ms': round(seconds * 1000, 3)}
                for seconds, module in imports[:MAX_PROFILED_IMPORTS]
            ],
            'imports_omitted': max(len(imports) - MAX_PROFILED_IMPORTS, 0) + self.imports_uncounted,
            'error': '; '.join(self.problems)[:MAX_ERROR_CHARS] or None,
        }

    def _timed_import(self, name, globals=None, locals=None, fromlist=(), level=0):
        """builtins.__import__, timing the outermost import of a module not yet loaded."""
        if self.importing or level != 0 or type(name) is not str or name in sys.modules:
            return self.original_import(name, globals, locals, fromlist, level)
        self.importing = True
        started = time.perf_counter()
        try:
            return self.original_import(name, globals, locals, fromlist, level)
        finally:
            self.importing = False
            seconds = time.perf_counter() - started
            if name in self.import_times or len(self.import_times) < MAX_IMPORTS_KEPT:
                self.import_times[name] = self.import_times.get(name, 0.0) + seconds
            else:
                self.imports_uncounted += 1

    def _on_sample(self, signum, frame):
        """SIGPROF: a snapshot when traced memory has grown enough and the budget allows."""
        if self.sampling or self.tracemalloc.get_traced_memory()[0] < self.next_snapshot_at:
            return
        predicted = self.tracemalloc.get_tracemalloc_memory() * self.seconds_per_byte
        if self.snapshots_s + predicted > self._snapshots_budget() / 2:
            return
        self.sampling = True  # a signal handler can be entered again from within itself
        try:
            self._snapshot(last=False)
        finally:
            self.sampling = False

    def _last_snapshot(self):
        current, peak = self.tracemalloc.get_traced_memory()
        self.peak = max(self.peak, peak)
        if current <= self.sites_total:
            return  # an earlier snapshot held more
        predicted = self.tracemalloc.get_tracemalloc_memory() * self.seconds_per_byte
        allowed = min(
            self._snapshots_budget() - self.snapshots_s, self.deadline - FIGURES_TIME_MARGIN_S - time.monotonic()
        )
        if predicted <= allowed:
            self._snapshot(last=True)
        elif self.sites is None:
            self.problems.append('too many blocks were traced to take a snapshot in time: no allocations')
        else:
            self.problems.append('too many blocks were traced at the end: allocations are from an earlier snapshot')

    def _snapshots_budget(self):
        return SNAPSHOTS_BUDGET_S + SNAPSHOTS_BUDGET_SHARE * (time.perf_counter() - self.started)

    def _snapshot(self, last):
        started = time.perf_counter()
        tracemalloc = self.tracemalloc
        cost_basis = tracemalloc.get_tracemalloc_memory()
        self.peak = max(self.peak, tracemalloc.get_traced_memory()[1])
        traces = tracemalloc._get_traces()  # [(domain, size, traceback, total frames)]
        if last:
            tracemalloc.stop()  # what follows is no longer traced, and runs faster
        # Grouped by sorting, with sum() and len() per traceback: no object is made per
        # block, and each object made while tracing costs a traceback (~100x faster than
        # a dict of running totals).
        traces.sort(key=self.traceback_of)
        sites = {}
        total = 0
        for traceback, group in itertools.groupby(traces, self.traceback_of):
            blocks = list(group)
            size = sum(map(self.size_of, blocks))
            total += size
            site = self._site(traceback)
            if site is not None:
                held = sites.setdefault(site, [0, 0])
                held[0] += size
                held[1] += len(blocks)
        del traces
        if total > self.sites_total:
            self.sites, self.sites_total = sites, total
        self.next_snapshot_at = max(total * SNAPSHOT_GROWTH_RATIO, total + SNAPSHOT_GROWTH_MIN_BYTES)
        if not last:
            tracemalloc.reset_peak()  # the snapshot's own blocks, now freed, are no peak of the code's
        elapsed = time.perf_counter() - started
        self.snapshots_s += elapsed
        if cost_basis:
            self.seconds_per_byte = elapsed / cost_basis

    def _site(self, traceback):
        """Where a block was allocated: the innermost frame in the user's file, else the
        innermost frame; None for the harness's own blocks (a snapshot's, say)."""
        if not traceback:
            return None
        innermost = traceback[0]  # _get_traces lists the most recent frame first
        if innermost[0] == self.harness_file != self.filename:
            return None
        return next((frame for frame in traceback if frame[0] == self.filename), innermost)

    def _functions(self):
        """(the functions to list, how many more there were): the user's first, each group by
        cumulative time. Left out: the harness's, and builtins only the harness called."""
        harness = _harness_code_objects()
        entries = self.profiler.getstats()
        called_by_harness = {}
        for entry in entries:
            if entry.code in harness:
                for call in entry.calls or ():
                    called_by_harness[call.code] = called_by_harness.get(call.code, 0) + call.callcount
        user, other = [], []
        for entry in entries:
            code = entry.code
            builtin = type(code) is str  # '<built-in method time.sleep>'
            if code in harness or builtin and called_by_harness.get(code, 0) >= entry.callcount:
                continue
            user_code = not builtin and code.co_filename == self.filename
            (user if user_code else other).append(
                {
                    'function': (code if builtin else code.co_qualname)[:MAX_FRAME_TEXT_CHARS],
                    'file': '<built-in>' if builtin else code.co_filename[:MAX_FRAME_TEXT_CHARS],
                    'line': None if builtin else code.co_firstlineno,
                    'calls': entry.callcount,
                    'self_ms': round(max(entry.inlinetime, 0.0) * 1000, 3),
                    'cumulative_ms': round(max(entry.totaltime, 0.0) * 1000, 3),
                    'user_code': user_code,
                }
            )
        listed = []
        for group in (user, other):
            listed += sorted(group, key=lambda function: function['cumulative_ms'], reverse=True)
        return listed[:MAX_PROFILED_FUNCTIONS], max(len(listed) - MAX_PROFILED_FUNCTIONS, 0)

    def _allocations(self):
        if not self.sites:
            return []
        import linecache

        largest = sorted(self.sites.items(), key=lambda site: site[1][0], reverse=True)
        return [
            {
                'file': file[:MAX_FRAME_TEXT_CHARS],
                'line': line,
                'bytes': size,
                'blocks': blocks,
                'source': linecache.getline(file, line).strip()[:MAX_FRAME_TEXT_CHARS] or None,
            }
            for (file, line), (size, blocks) in largest[:MAX_ALLOCATION_SITES]
        ]


def _harness_code_objects():
    """The code of the harness's functions and methods, the functions nested in them included."""
    harness = globals()
    pending = []
    for value in list(harness.values()):
        functions = [value] if type(value) is types.FunctionType else []
        if type(value) is type:
            functions = [item for item in vars(value).values() if type(item) is types.FunctionType]
        pending += [function.__code__ for function in functions if function.__globals__ is harness]
    codes = set()
    while pending:
        code = pending.pop()
        codes.add(code)
        pending += [const for const in code.co_consts if type(const) is types.CodeType]
    return codes


# --------------------------------------------------------------------------
# Exceptions
# --------------------------------------------------------------------------


def _exceptions_report(error, filename):
    """The `exceptions` list: the exception that ended the run, if any."""
    if error is None or isinstance(error, SystemExit):
        return []
    record = _describe_exception(error, filename, set())
    if isinstance(error, SyntaxError) and not record['frames']:
        # No user frame: the user's file itself did not compile.
        record['line'] = error.lineno
        record['frames'] = [
            {
                'file': filename,
                'line': error.lineno,
                'function': '<module>',
                'source': (error.text or '').strip() or None,
            }
        ]
    return [_bounded_exception(record)]


def _describe_exception(exc, filename, seen):
    """The exception's record, its frames already selected; _bounded_exception cuts the rest."""
    import traceback

    seen.add(id(exc))
    tb = exc.__traceback__
    entries = [(frame, line) for frame, line in traceback.walk_tb(tb) if not _is_harness_frame(frame)]
    kept, omitted = _kept_frames(entries)
    cause, relation = _chained_exception(exc)
    # `seen` is the chain so far: it stops both cycles and overly long chains.
    if cause is None or id(cause) in seen or len(seen) > MAX_CAUSE_DEPTH:
        cause, relation = None, None
    return {
        'type': _qualified_name(type(exc)),
        'message': _message(exc),
        'line': _innermost_line(entries, filename),
        'frames': _frame_records(kept),
        'frames_omitted': omitted,
        'cause': _describe_exception(cause, filename, seen) if cause is not None else None,
        'cause_relation': relation,
    }


def _innermost_line(entries, filename):
    # From all the frames: the innermost one in the user's file may be among those left out.
    return next((line for frame, line in reversed(entries) if frame.f_code.co_filename == filename), None)


def _chained_exception(exc):
    """The exception Python's traceback would show above this one, and how it relates."""
    if exc.__cause__ is not None:
        return exc.__cause__, 'cause'
    if exc.__context__ is not None and not exc.__suppress_context__:
        return exc.__context__, 'context'
    return None, None


def _frame_records(entries):
    """(frame, line) entries of a traceback, outermost first, as frame records."""
    import traceback

    return [
        {
            'file': summary.filename,
            'line': summary.lineno,
            'function': summary.name,
            'source': summary.line or None,  # linecache's line, stripped
        }
        for summary in traceback.StackSummary.extract(iter(entries))
    ]


def _without_harness_frames(tb):
    """The traceback without the harness's frames: the one that called the code, and
    those the code went through when it imported (a profile's) or showed a figure."""
    entries = []
    while tb is not None:
        if not _is_harness_frame(tb.tb_frame):
            entries.append(tb)
        tb = tb.tb_next
    kept = None
    for entry in reversed(entries):
        kept = types.TracebackType(kept, entry.tb_frame, entry.tb_lasti, entry.tb_lineno)
    return kept


def _is_harness_frame(frame):
    # Harness code runs in this module's namespace. Its file name (`<string>`
    # under -c) could collide with the user's, its namespace cannot.
    return frame.f_globals is globals()


def _qualified_name(cls):
    """The name Python's traceback prints: module-qualified unless builtins or __main__."""
    module = _type_attribute(cls, '__module__')
    qualname = _type_attribute(cls, '__qualname__')
    if not isinstance(module, str) or module in ('builtins', '__main__'):
        return qualname
    return f'{module}.{qualname}'


def _type_name(value):
    return _type_attribute(type(value), '__name__')[:MAX_NAME_CHARS]


def _type_attribute(cls, name):
    """cls.__name__, __qualname__ or __module__ as the class stores it.

    Plain attribute access would run a property the user's metaclass defines.
    """
    return type.__dict__[name].__get__(cls)


def _message(exc):
    try:
        return _call_with_timeout(REPR_TIMEOUT_S, str, exc)
    except BaseException:
        return '<exception str() failed>'


# --------------------------------------------------------------------------
# Variables (debug mode)
# --------------------------------------------------------------------------


def _capture_variables(namespace, input_data, room, deadline):
    """(variables, how many were left out): the user's globals after the run,
    bounded in number, size (room bytes in all) and time (until deadline).

    ``input_data`` is left out while it is still the object we bound: the caller
    sent it, so echoing it back would only cost bytes.
    """
    candidates = (
        (name, value)
        for name, value in list(namespace.items())  # a snapshot: user threads may still run
        # Exact str only: a subclass's methods are user code. issubclass(type(...)),
        # unlike isinstance, cannot run a user's __class__ property.
        if type(name) is str
        and not _is_dunder(name)
        and not issubclass(type(value), types.ModuleType)
        and not (name == 'input_data' and value is input_data)
    )
    return _fit_variables(candidates, room, lambda value: _encode_variable(value, deadline))


def _is_dunder(name):
    return name.startswith('__') and name.endswith('__')


def _encode_variable(value, deadline):
    try:
        return _VariableEncoder(deadline).encode(value)
    except BaseException as exc:  # one odd object must not sink the whole result
        return {'type': _type_name(value), 'repr': _unrepresentable(value, exc), 'truncated': False}


def _unrepresentable(value, exc):
    return f'<unrepresentable {_type_name(value)}: {_type_name(exc)}>'


class _VariableEncoder:
    """Turns one variable into its Variable form (see PROTOCOL.md) within fixed bounds.

    Only exact built-in types become JSON: subclasses (namedtuple, OrderedDict,
    IntEnum...) are shown by their repr, which says more, and iterating them could
    run user code. Every call into user code (repr, tolist, attribute lookups)
    goes through _call, which bounds its time and is always caught.
    """

    def __init__(self, deadline):
        self.deadline = deadline
        self.budget = MAX_VARIABLE_CHARS
        self.truncated = False
        self.null_counts_over = False

    def encode(self, value):
        kind = _type_name(value)
        encoded = self._json(value, 0)
        variable = {'type': kind}
        if encoded is _NOT_JSON:
            variable['repr'] = self._bounded_repr(value)
        else:
            variable['value'] = encoded
        # After the value or repr, which come first in the budget; before reading
        # self.truncated, which both may set.
        preview = self._preview(value)
        variable['truncated'] = self.truncated
        if preview is not None:
            variable['preview'] = preview
        return variable

    def _json(self, value, depth):
        """value as JSON data, or _NOT_JSON when JSON has no faithful form for it."""
        kind = type(value)
        if value is None or kind is bool:
            return value
        if kind is str:
            return self._cut(value, MAX_STRING_CHARS if depth == 0 else MAX_NESTED_STRING_CHARS)
        if kind is int:
            return value if abs(value) <= MAX_SAFE_INT else _NOT_JSON
        if kind is float:
            return value if math.isfinite(value) else _NOT_JSON
        if kind in _CONTAINERS:
            return self._container(value, depth)
        items = self._array_items(value)
        return _NOT_JSON if items is _NOT_JSON else self._json(items, depth)

    def _container(self, value, depth):
        if depth >= MAX_DEPTH:
            self.truncated = True
            return self._bounded_repr(value, _deep_repr)
        if type(value) is dict:
            encoded = {}
            for key, item in self._bounded_items(value.items()):
                name = self._key(key)
                if name in encoded:
                    # Two keys that read the same once cut (or a key and another's repr).
                    self.truncated = True
                    continue
                encoded[name] = self._nested(item, depth + 1)
            return encoded
        return [self._nested(item, depth + 1) for item in self._bounded_items(value)]

    def _key(self, key):
        if type(key) is str:
            return self._cut(key, MAX_NAME_CHARS)
        return self._bounded_repr(key, limit=MAX_NAME_CHARS)

    def _bounded_items(self, iterable):
        """The items to show, within MAX_ITEMS and the budget.

        They come from a snapshot taken up front: encoding an item can run user
        code (a repr) that changes the container.
        """
        for index, item in enumerate(list(itertools.islice(iterable, MAX_ITEMS + 1))):
            if index == MAX_ITEMS or self.budget <= 0:
                self.truncated = True
                return
            self.budget -= 1
            yield item

    def _nested(self, value, depth):
        encoded = self._json(value, depth)
        return self._bounded_repr(value) if encoded is _NOT_JSON else encoded

    def _array_items(self, value):
        """tolist() of a numpy-style array or scalar small enough to show whole."""
        try:
            items = self._call(_small_array_tolist, value)
        except BaseException:
            return _NOT_JSON
        # Anything else (another array-like, say) could send us round in circles.
        return items if type(items) in _TOLIST_RESULTS else _NOT_JSON

    def _bounded_repr(self, value, repr_func=repr, limit=MAX_REPR_CHARS):
        try:
            text = self._call(repr_func, value)
        except _Timeout:
            text = '<repr timed out>'
        except BaseException as exc:
            text = _unrepresentable(value, exc)
        return self._cut(text, limit)

    def _cut(self, text, limit):
        limit = max(min(limit, self.budget), 0)
        if len(text) > limit:
            self.truncated = True
            text = text[:limit]
        self.budget -= len(text)
        return text

    def _call(self, func, value, deadline=None):
        """func(value) within REPR_TIMEOUT_S and what is left of the shared time budget
        (or until deadline, when given)."""
        remaining = (deadline if deadline is not None else self.deadline) - time.monotonic()
        if remaining <= 0:
            raise _Timeout()
        return _call_with_timeout(min(REPR_TIMEOUT_S, remaining), func, value)

    # Previews of pandas DataFrames and Series and numpy arrays (PROTOCOL.md, "Previews")

    def _preview(self, value):
        """The preview of a DataFrame, Series or numpy array; None for other values, and for
        one that could not be read in time (then the variable says it was truncated)."""
        make = {
            'dataframe': self._dataframe_preview,
            'series': self._series_preview,
            'ndarray': self._ndarray_preview,
        }.get(_preview_kind(value))
        if make is None:
            return None
        try:
            return make(value)
        except BaseException:  # a timeout, a frame that cannot be read...: no preview
            self.truncated = True
            return None

    def _dataframe_preview(self, frame):
        rows, columns = _sizes(self._call(_shape, frame), 2)
        names, dtypes, cells, labels = self._call(_frame_parts, self._call(_frame_head, frame))
        _require_preview(
            len(names) == len(dtypes) == len(cells) <= MAX_PREVIEW_COLUMNS
            and len(labels) <= MAX_PREVIEW_ROWS
            and all(len(column) == len(labels) for column in cells)
        )
        shown_columns = [
            {'name': self._text(name, MAX_NAME_CHARS), 'dtype': self._cut(dtype, MAX_NAME_CHARS), 'nulls': None}
            for name, dtype in zip(names, dtypes)
        ]
        index, shown_rows = [], []
        for position, label in enumerate(labels):
            if self.budget <= 0:
                break  # fewer rows, counted in rows_omitted
            index.append(self._cell(label))
            shown_rows.append([self._cell(column[position]) for column in cells])
        for position, column in enumerate(shown_columns):
            column['nulls'] = self._nulls(lambda frame, at=position: int(frame.iloc[:, at].isna().sum()), frame)
        return {
            'kind': 'dataframe',
            'shape': [rows, columns],
            'columns': shown_columns,
            'columns_omitted': columns - len(shown_columns),
            'index': index,
            'rows': shown_rows,
            'rows_omitted': rows - len(shown_rows),
        }

    def _series_preview(self, series):
        (length,) = _sizes(self._call(_shape, series), 1)
        name, dtype, values, labels = self._call(_series_parts, self._call(_series_head, series))
        _require_preview(len(values) == len(labels) <= MAX_PREVIEW_VALUES)
        index, shown = [], []
        for value, label in zip(values, labels):
            if self.budget <= 0:
                break
            index.append(self._cell(label))
            shown.append(self._cell(value))
        return {
            'kind': 'series',
            'shape': [length],
            'name': self._text(name, MAX_NAME_CHARS) if name is not None else None,
            'dtype': self._cut(dtype, MAX_NAME_CHARS),
            'nulls': self._nulls(lambda series: int(series.isna().sum()), series),
            'index': index,
            'values': shown,
            'values_omitted': length - len(shown),
        }

    def _ndarray_preview(self, array):
        shape = _sizes(self._call(_shape, array), None)
        dtype, size, values = self._call(_array_parts, array)
        _require_preview(_is_size(size) and len(values) <= MAX_PREVIEW_VALUES)
        shown = []
        for value in values:
            if self.budget <= 0:
                break
            shown.append(self._cell(value))
        return {
            'kind': 'ndarray',
            'shape': shape,
            'dtype': self._cut(dtype, MAX_NAME_CHARS),
            'values': shown,
            'values_omitted': size - len(shown),
        }

    def _nulls(self, count_nulls, value):
        """count_nulls(value), a count that reads every row, while the time for null counts
        lasts; None once it is over (the first count that ran out of time ends it)."""
        if self.null_counts_over:
            return None
        try:
            count = self._call(count_nulls, value, self.deadline - NULL_COUNTS_RESERVE_S)
        except _Timeout:
            self.null_counts_over = True
            return None
        except BaseException:  # a column whose dtype cannot say what is null
            return None
        return count if _is_size(count) else None

    def _cell(self, value):
        """A value of a preview, JSON-safe: NaN, NaT and NA null, infinities 'inf' and
        '-inf', integers past 2**53 and other objects their str; strings cut."""
        self.budget -= 1
        kind = type(value)
        if value is None or kind is bool:
            return value
        if kind is int:
            return value if abs(value) <= MAX_SAFE_INT else self._text(value, MAX_PREVIEW_CELL_CHARS)
        if kind is float:
            if math.isfinite(value):
                return value
            return None if math.isnan(value) else ('inf' if value > 0 else '-inf')
        if kind is str:
            return self._cut(value, MAX_PREVIEW_CELL_CHARS)
        try:
            plain = self._call(_plain_cell, value)
        except BaseException:
            plain = self._text(value, MAX_PREVIEW_CELL_CHARS)
        return self._cell(plain) if type(plain) in _PLAIN_CELL_TYPES else self._text(plain, MAX_PREVIEW_CELL_CHARS)

    def _text(self, value, limit):
        """str(value), cut to limit: a column's or a series' name, a cell that is no plain value."""
        if type(value) is not str:
            try:
                value = self._call(str, value)
            except _Timeout:
                value = '<str timed out>'
            except BaseException as exc:
                value = _unrepresentable(value, exc)
        return self._cut(value, limit)


_PLAIN_CELL_TYPES = (type(None), bool, int, float, str)
# (module, ((class name, preview kind)...)): the values that get a preview.
_PREVIEW_KINDS = (
    ('numpy', (('ndarray', 'ndarray'),)),
    ('pandas', (('DataFrame', 'dataframe'), ('Series', 'series'))),
)


def _preview_kind(value):
    """'dataframe', 'series' or 'ndarray' for a pandas DataFrame or Series or a numpy array,
    of exactly that type (a subclass's methods are the user's); else None. Imports nothing:
    such a value exists only once its module was imported."""
    cls = type(value)
    for module_name, kinds in _PREVIEW_KINDS:
        module = _loaded_module(module_name)
        if module is not None:
            for name, kind in kinds:
                if cls is module.__dict__.get(name):
                    return kind
    return None


def _loaded_module(name):
    """The module sys.modules holds under name, if it is a module; None otherwise."""
    module = sys.modules.get(name)
    return module if type(module) is types.ModuleType else None


def _require_preview(condition):
    if not condition:
        raise ValueError('not the shape of a preview')


def _sizes(shape, dimensions):
    """A shape as a list of sizes: as many as dimensions (any number up to MAX_PREVIEW_DIMENSIONS when None)."""
    _require_preview(
        type(shape) is tuple
        and len(shape) <= MAX_PREVIEW_DIMENSIONS
        and len(shape) == (dimensions if dimensions is not None else len(shape))
        and all(map(_is_size, shape))
    )
    return list(shape)


# Each of these runs under _VariableEncoder._call, with one pandas or numpy value.


def _shape(value):
    return tuple(value.shape)


def _frame_head(frame):
    return frame.iloc[:MAX_PREVIEW_ROWS, :MAX_PREVIEW_COLUMNS]


def _frame_parts(head):
    """(column labels, dtypes as text, each column's cells, row labels) of a DataFrame's head."""
    return (
        list(head.columns),
        [str(dtype) for dtype in head.dtypes.tolist()],
        [head.iloc[:, position].tolist() for position in range(head.shape[1])],
        head.index.tolist(),
    )


def _series_head(series):
    return series.iloc[:MAX_PREVIEW_VALUES]


def _series_parts(head):
    return head.name, str(head.dtype), head.tolist(), head.index.tolist()


def _array_parts(array):
    """(dtype as text, size, the first values in C order) of a numpy array."""
    first = array.flat[:MAX_PREVIEW_VALUES]  # a copy of those values alone, whatever the strides
    # tolist() would turn datetime64 and timedelta64 values into ints or datetimes: their
    # numpy scalars keep their unit, and show as ISO text.
    values = list(first) if array.dtype.kind in 'mM' else first.tolist()
    return str(array.dtype), array.size, values


def _plain_cell(value):
    """A cell that is no plain Python value as one: None for NaT and NA, numpy's scalars
    as Python's, dates and times as ISO text, durations as their str, else its str."""
    pandas = _loaded_module('pandas')
    if pandas is not None and any(value is pandas.__dict__.get(name) for name in ('NaT', 'NA')):
        return None
    numpy = _loaded_module('numpy')
    if numpy is not None and isinstance(value, numpy.generic):
        if isinstance(value, (numpy.datetime64, numpy.timedelta64)):
            return None if numpy.isnat(value) else str(value)
        value = value.item()
    datetime = _loaded_module('datetime')
    if datetime is not None:
        if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
            return value.isoformat()
        if isinstance(value, datetime.timedelta):
            return str(value)
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, int):
        return int(value)
    return str(value)


def _small_array_tolist(value):
    tolist = getattr(value, 'tolist', None)
    size = getattr(value, 'size', None)
    if callable(tolist) and type(size) is int and size <= MAX_ARRAY_SIZE:
        return tolist()
    return _NOT_JSON


def _deep_repr(value):
    """A repr of a container past MAX_DEPTH. A full repr() of it could be huge (and
    slow: shared references make a tiny object look enormous), only to be cut to
    MAX_REPR_CHARS: reprlib stops early and marks what it left out."""
    import reprlib

    deep = reprlib.Repr()
    deep.maxlevel = 2
    deep.maxlist = deep.maxtuple = deep.maxdict = deep.maxset = deep.maxfrozenset = 20
    deep.maxstring = deep.maxother = 100
    return deep.repr(value)


if __name__ == '__main__':
    main()

