"""Time the kernels that the CPU speed-ups replace, with and without them.

    python benchmarks/bench_kernels.py [--repeats 3]

The BLAS can only be chosen before mlx.core is imported, so each BLAS runs in its
own child process: "reference" (the mlx-cpu wheel's own, LLM_MLX_AUDIO_CPU_FAST=0)
and "optimised" (whatever patches.prepare_mlx() preloads). Each child times MLX's
own kernels, cpu_speed's MLX rewrites ("fast") and, where the plugin computes a
kernel in numpy/scipy instead (cpu_kernels, cpu_kokoro, cpu_whisper), that version
("numpy"). Printed: median milliseconds per kernel and the speed-up of the fastest
"everything on" version over "everything off".
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

# Kokoro's vocoder for about 2.5 s of speech: 200 frames at 512 channels, upsampled x10
# then x6 (Generator.ups), with resblocks (kernels 3/7/11, dilations 1/3/5) at each
# rate; the depthwise "pool" of the decoder's upsampling block.
CONVS = [
    # name, op, input shape, weight shape, options
    ("ups[0] convT k20 s10", "transpose", (1, 200, 512), (256, 20, 512), {"stride": 10, "padding": 5}),
    ("ups[1] convT k12 s6", "transpose", (1, 2000, 256), (128, 12, 256), {"stride": 6, "padding": 3}),
    ("pool dw convT k3 s2", "transpose", (1, 200, 1090), (1090, 3, 1), {"stride": 2, "groups": 1090}),
    ("res 256ch k7 d3", "dilated", (1, 2000, 256), (256, 7, 256), {"padding": 9, "dilation": 3}),
    ("res 256ch k11 d5", "dilated", (1, 2000, 256), (256, 11, 256), {"padding": 25, "dilation": 5}),
    ("res 128ch k11 d5", "dilated", (1, 12000, 128), (128, 11, 128), {"padding": 25, "dilation": 5}),
]
MATMUL = (1500, 384, 1536)  # Whisper tiny encoder MLP: 30 s window x d_model x 4 d_model


def _median_ms(fn, repeats):
    import mlx.core as mx

    mx.eval(fn())  # warm-up: allocations, lazy library loading
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        mx.eval(fn())
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2] * 1000


def child(repeats):
    from llm_mlx_audio.engine import patches
    from llm_mlx_audio.engine.patches import vocoder_convs

    blas = patches.prepare_mlx()
    import mlx.core as mx

    results = {"blas": blas}
    m, k, n = MATMUL
    a, b = mx.random.normal((m, k)), mx.random.normal((k, n))
    # First, before MLX's own BLAS threads have run: two OpenBLAS thread pools that
    # alternate on 2 cores slow each other down while their threads spin.
    numpy_matmul = _numpy_ms(lambda an=np_array(a), bn=np_array(b): an @ bn, repeats)
    results["matmul fp32 1500x384x1536"] = {"mlx": _median_ms(lambda: a @ b, repeats)}
    a16, b16 = a.astype(mx.float16), b.astype(mx.float16)
    results["matmul fp16 1500x384x1536"] = {"mlx": _median_ms(lambda: a16 @ b16, repeats)}
    results.update(_elementwise(repeats))
    for name, op, x_shape, w_shape, options in CONVS:
        x = mx.random.normal(x_shape)
        w = mx.random.normal(w_shape) * (w_shape[1] * w_shape[2]) ** -0.5
        stock, fast = (
            (mx.conv_transpose1d, vocoder_convs.fast_conv_transpose1d)
            if op == "transpose"
            else (mx.conv1d, vocoder_convs.fast_conv1d)
        )
        error = float(mx.max(mx.abs(stock(x, w, **options) - fast(x, w, **options))))
        results[name] = {
            "mlx": _median_ms(lambda f=stock, x=x, w=w, o=options: f(x, w, **o), repeats),
            "fast": _median_ms(lambda f=fast, x=x, w=w, o=options: f(x, w, **o), repeats),
            "max_abs_error": error,
        }
        if op == "dilated" and patches.enabled():
            results[name]["numpy"] = _numpy_conv_ms(x, w, options, repeats)
    results["matmul fp32 1500x384x1536"]["numpy"] = numpy_matmul
    print(json.dumps(results))


def np_array(a):
    import numpy as np

    return np.array(a)


def _numpy_ms(fn, repeats):
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2] * 1000


def _numpy_conv_ms(x, w, options, repeats):
    """cpu_kokoro's conv: one accumulating sgemm per tap (MLX weight layout out, k, in)."""
    import numpy as np

    from llm_mlx_audio.engine.patches import kokoro_numpy as cpu_kokoro

    xn, wn = np.array(x), np.array(w)
    taps = [np.ascontiguousarray(wn[:, j, :].T) for j in range(wn.shape[1])]
    return _numpy_ms(
        lambda: cpu_kokoro._conv(xn, taps, None, options["padding"], options["dilation"]), repeats
    )


def _elementwise(repeats):
    """Whisper-tiny's attention softmax and GELU, Kokoro's Snake sine (numpy's in cpu_kokoro)."""
    import mlx.core as mx
    import numpy as np
    from mlx import nn

    from llm_mlx_audio.engine.patches import kernels as cpu_kernels

    scores = mx.random.normal((6, 1500, 1500))
    hidden = mx.random.normal((1500, 1536))
    phase = mx.random.normal((1, 12000, 128)) * 3
    rows = {
        "softmax 6x1500x1500": {
            "mlx": _median_ms(lambda: mx.softmax(scores, axis=-1, precise=True), repeats)
        },
        "gelu (erf) 1500x1536": {"mlx": _median_ms(lambda: nn.gelu(hidden), repeats)},
        "sin 12000x128": {"mlx": _median_ms(lambda: mx.sin(phase), repeats)},
    }
    if cpu_speed_enabled():
        mx.eval(scores)
        rows["softmax 6x1500x1500"]["numpy"] = _numpy_ms(
            lambda: cpu_kernels.softmax_numpy(np.array(scores)), repeats
        )
        rows["gelu (erf) 1500x1536"]["fast"] = _median_ms(lambda: cpu_kernels.gelu(hidden), repeats)
        rows["sin 12000x128"]["numpy"] = _numpy_ms(lambda p=np.array(phase): np.sin(p), repeats)
        errors = {
            "softmax 6x1500x1500": np.abs(
                cpu_kernels.softmax_numpy(np.array(scores))
                - np.array(mx.softmax(scores, axis=-1, precise=True))
            ).max(),
            "gelu (erf) 1500x1536": mx.max(mx.abs(cpu_kernels.gelu(hidden) - nn.gelu(hidden))).item(),
            "sin 12000x128": np.abs(np.sin(np.array(phase)) - np.array(mx.sin(phase))).max(),
        }
        for name, error in errors.items():
            rows[name]["max_abs_error"] = float(error)
    return rows


def cpu_speed_enabled():
    from llm_mlx_audio.engine import patches

    return patches.enabled()


def run_child(switch, repeats):
    env = {**os.environ, "LLM_MLX_AUDIO_CPU_FAST": switch}
    out = subprocess.run(
        [sys.executable, __file__, "--child", "--repeats", str(repeats)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.repeats)

    reference = run_child("0", args.repeats)
    optimised = run_child("1", args.repeats)
    print(
        f"BLAS: reference (mlx-cpu wheel) vs {optimised['blas'] or 'none found'}; "
        f"median of {args.repeats}, ms"
    )
    header = (
        f"{'kernel':28} {'ref+mlx':>9} {'ref+fast':>9} {'opt+mlx':>9} {'opt+fast':>9} "
        f"{'numpy':>9} {'speed-up':>9} {'max err':>9}"
    )
    print(header)
    print("-" * len(header))
    for name, ref in reference.items():
        if name == "blas":
            continue
        opt = optimised[name]
        off = ref["mlx"]
        on = min(opt[key] for key in ("mlx", "fast", "numpy") if key in opt)
        nan = float("nan")
        print(
            f"{name:28} {off:9.1f} {ref.get('fast', nan):9.1f} {opt['mlx']:9.1f} "
            f"{opt.get('fast', nan):9.1f} {opt.get('numpy', nan):9.1f} {off / on:8.1f}x "
            f"{opt.get('max_abs_error', 0):9.1e}"
        )


if __name__ == "__main__":
    sys.exit(main())
