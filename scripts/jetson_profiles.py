#!/usr/bin/env python3
"""Writes the Jetson compute profiles of experiments/devices/profiles/ from published figures.

These are reconstructions, not measurements: `edgesim profile` run on a real board replaces
them. Each number's source:
  peak FP32     CUDA cores × max GPU clock × 2 (NVIDIA module data sheets; as jetson16.toml)
  bandwidth     LPDDR4(x) peak bandwidth (NVIDIA module data sheets)
  efficiency    sustained share of peak in small-batch PyTorch training — an assumption:
                15% for convolutions and matrix products (the analytic reference's 2e11 FLOP/s
                on an AGX Xavier is 14% of its peak), 50% of peak bandwidth for memory traffic
  positions     not modelled ("inf"): the per-pixel cost of CPU convolution kernels (docs/CLOCK.md)
                is a host CPU effect; on the boards GPU kernels parallelise over positions
  kernel cost   one PyTorch eager op dispatch + CUDA launch, an assumption: 25 µs on the
                Carmel cores (AGX, NX), 40 µs on Cortex-A57-class cores (TX2, Nano); desktop
                CPUs are commonly reported at 5-10 µs and the boards' cores are 3-5× slower
  backward      twice the forward's FLOPs and bytes and kernels (input and weight gradients)
  op classes    unaligned convolutions as aligned ones (the vector-width penalty measured on x86
                hosts is a CPU effect, not assumed for the GPUs); norm, activation, pool and
                embedding all memory-bound (no FLOP term), as element-wise ops
  step          4 op dispatches per step (zero_grad, loss, its backward seed, batch slicing)
  optimizer     SGD with momentum reads and writes 5 floats per parameter; 3 ops per tensor
  task set-up   the task's network built and its weights loaded: 3 floats of traffic per
                parameter (initialised, read, written) at the memory term, 3 ops per tensor
                (allocate, initialise, copy), no fixed cost — an assumption

    /usr/bin/python3 scripts/jetson_profiles.py   # rewrites experiments/devices/profiles/*.toml
"""
import os

BOARDS = {
    # name: (title, CUDA cores, GPU GHz, bandwidth GB/s, kernel seconds)
    "agx-xavier": ("Jetson AGX Xavier", 512, 1.377, 136.5, 25e-6),
    "xavier-nx": ("Jetson Xavier NX", 384, 1.100, 51.2, 25e-6),
    "tx2": ("Jetson TX2", 256, 1.300, 59.7, 40e-6),
    "nano": ("Jetson Nano", 128, 0.921, 25.6, 40e-6),
}
COMPUTE_EFFICIENCY = 0.15
MEMORY_EFFICIENCY = 0.50


def profile_text(key, title, cores, ghz, gbps, kernel_s):
    flops = cores * ghz * 1e9 * 2 * COMPUTE_EFFICIENCY
    bytes_ = gbps * 1e9 * MEMORY_EFFICIENCY
    out = [
        "# Written by scripts/jetson_profiles.py from published figures (see its header); not a measurement.",
        "[profile]",
        f'name = "{key}"',
        f'source = "{title}: {cores} CUDA cores x {ghz} GHz x 2 x {COMPUTE_EFFICIENCY} sustained, '
        f'{gbps} GB/s x {MEMORY_EFFICIENCY}, {kernel_s * 1e6:.0f} us per op (assumed)"',
    ]
    for direction, factor in (("forward", 1.0), ("backward", 2.0)):
        for cls in ("conv", "conv_unaligned", "matmul", "norm", "activation", "pool", "embedding"):
            rate = repr(flops / factor) if cls in ("conv", "conv_unaligned", "matmul") else '"inf"'
            out += ["", f"[{direction}.{cls}]",
                    f"flops_per_second = {rate}",
                    "positions_per_second = \"inf\"",
                    f"bytes_per_second = {bytes_ / factor!r}",
                    f"kernel_seconds = {kernel_s * factor!r}"]
    out += ["", "[step]", f"seconds = {4 * kernel_s!r}",
            "", "[optimizer]", f"floats_per_second = {bytes_ / 20.0!r}", f"tensor_seconds = {3 * kernel_s!r}",
            "", "[task]", "seconds = 0.0", f"floats_per_second = {bytes_ / 12.0!r}",
            f"tensor_seconds = {3 * kernel_s!r}", ""]
    return "\n".join(out)


def main():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "experiments", "devices", "profiles")
    os.makedirs(root, exist_ok=True)
    for key, spec in BOARDS.items():
        path = os.path.join(root, key + ".toml")
        with open(path, "w") as f:
            f.write(profile_text(key, *spec))
        print("wrote", os.path.relpath(path))


if __name__ == "__main__":
    main()
