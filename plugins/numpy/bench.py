"""Speed of copium.deepcopy with copium_numpy against copy.deepcopy, as ratios.

Every contender of a case runs in the same process, interleaved round by round (so that a
noisy machine slows them all alike); each round times each contender as the best of three
short batches of calls, and the table reports the median over rounds of each contender's time per call and of the ratio
stdlib / contender (higher is faster than stdlib).

Contenders: copy.deepcopy (stdlib, calling numpy's own ndarray.__deepcopy__), copium.deepcopy
with the plugin, copium.deepcopy without it (copium_numpy.unregister(): copium then follows
stdlib's protocol, numpy's __deepcopy__ included), and for plain arrays a.copy(order="K") (the
same layout as a deep copy: what any deep copy of an array must at least do, the floor).

    python bench.py              # all cases
    python bench.py --rounds 31  # more rounds
    python bench.py --markdown   # the table for README.md
"""

import argparse
import copy
import statistics
import sys
import time

import numpy as np

import copium
import copium_numpy


def make_cases():
    rng = np.random.default_rng(0)
    small = rng.random(10)
    large = rng.random(1_000_000)
    mid_2d_f = np.asfortranarray(rng.random((100, 100)))
    strided = rng.random(2000)[::2]
    objects = np.empty(1000, dtype=object)
    for i in range(1000):
        objects[i] = [i, i + 1]
    obj_atoms = np.array([float(i) for i in range(1000)], dtype=object)
    struct = np.zeros(1000, dtype=[("id", "i8"), ("name", "U8"), ("payload", "O")])
    struct["id"] = np.arange(1000)
    for i in range(1000):
        struct[i]["payload"] = {"i": i}
    many_small = {f"k{i}": rng.random(10) for i in range(1000)}
    scalars = [np.float64(i) for i in range(1000)]
    return [
        ("10 float64", small, True),
        ("10**6 float64 (8 MB)", large, True),
        ("100x100 float64, F order", mid_2d_f, True),
        ("1000 float64, strided view", strided, True),
        ("object: 1000 lists [i, i+1]", objects, False),
        ("object: 1000 floats", obj_atoms, False),
        ("struct i8/U8/O x 1000", struct, False),
        ("dict of 1000 arrays of 10 float64", many_small, False),
        ("list of 1000 np.float64", scalars, False),
    ]


def batch_size(fn, target):
    """Calls per batch so that one batch takes about target seconds."""
    n = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        elapsed = time.perf_counter() - t0
        if elapsed >= target / 4 or n >= 1 << 20:
            return max(1, int(n * target / max(elapsed, 1e-9)))
        n *= 4


def timed(fn, n, batches):
    """Seconds per call: the best of a few batches of n calls. The best batch is the one least
    disturbed by other processes (these machines are shared); one untimed call first lets a
    batch start from the allocator state its own calls leave (for megabyte arrays, whether a
    freed buffer is reused or fresh memory is faulted in matters more than the copy)."""
    fn()
    best = float("inf")
    for _ in range(batches):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, time.perf_counter() - t0)
    return best / n


def run_case(obj, with_floor, rounds, target=0.004, batches=3):
    contenders = {
        "stdlib": (lambda: copy.deepcopy(obj), False),
        "copium": (lambda: copium.deepcopy(obj), True),
        "copium, no plugin": (lambda: copium.deepcopy(obj), False),
    }
    if with_floor:
        contenders["a.copy()"] = (lambda: obj.copy(order="K"), True)

    def use_plugin(on):
        if on:
            copium_numpy.register()
        else:
            copium_numpy.unregister()

    sizes = {}
    for name, (fn, plugin) in contenders.items():
        use_plugin(plugin)
        sizes[name] = batch_size(fn, target)
    times = {name: [] for name in contenders}
    for r in range(rounds):
        names = list(contenders)
        if r % 2:
            names.reverse()
        for name in names:
            fn, plugin = contenders[name]
            use_plugin(plugin)
            times[name].append(timed(fn, sizes[name], batches))
    use_plugin(True)
    result = {}
    for name in contenders:
        ratios = [s / t for s, t in zip(times["stdlib"], times[name])]
        result[name] = (statistics.median(times[name]), statistics.median(ratios))
    return result


def fmt_time(seconds):
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    if seconds >= 1e-6:
        return f"{seconds * 1e6:.2f} us"
    return f"{seconds * 1e9:.0f} ns"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds (default 15)")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument("-k", default="", help="only the cases whose name contains this")
    args = parser.parse_args(argv)

    print(
        f"# Python {sys.version.split()[0]}, numpy {np.__version__}, copium {copium.__version__}; "
        f"median of {args.rounds} interleaved rounds; ratio = stdlib time / contender time"
    )
    columns = ["stdlib", "copium", "copium, no plugin", "a.copy()"]
    if args.markdown:
        print("| case | copy.deepcopy | copium.deepcopy | ratio | copium without plugin | "
              "ratio | a.copy(order='K') (floor) | ratio |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, obj, with_floor in make_cases():
        if args.k not in name:
            continue
        res = run_case(obj, with_floor, args.rounds)
        cells = []
        for col in columns:
            if col not in res:
                cells.append(("-", "-"))
                continue
            t, ratio = res[col]
            cells.append((fmt_time(t), f"{ratio:.1f}x"))
        if args.markdown:
            row = [cells[0][0]]
            for t, ratio in cells[1:]:
                row += [t, ratio]
            print(f"| {name} | " + " | ".join(row) + " |")
        else:
            line = f"{name:36s} stdlib {cells[0][0]:>9s}"
            for col, (t, ratio) in zip(columns[1:], cells[1:]):
                line += f" | {col} {t:>9s} {ratio:>6s}"
            print(line, flush=True)


if __name__ == "__main__":
    main()
