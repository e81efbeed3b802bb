"""The simulator's speed measures compute the same numbers as the plain formulas, and keep the render loop
free of lazy imports and of device-to-host synchronisation."""

import ast
import dataclasses
import inspect
import math
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from nanobrag_torch import _c_compat_paths, _cpu, physics
from nanobrag_torch.config import CrystalConfig, CrystalShape, DetectorConfig, SimulationConfig
from nanobrag_torch.geometry import dot3, outer_dot3, outer_dot3_each
from nanobrag_torch.simulator import Simulator

DTYPES = [torch.float64, torch.float32]


def _plain_sincg(x, n):
    """sincg as written before the in-place path: the reference for bit equality."""
    value = torch.sin(x * n) / torch.sin(x)
    return torch.where(x == 0, torch.as_tensor(n, dtype=x.dtype), value)


@pytest.mark.parametrize("dtype", DTYPES)
def test_outer_dot3_equals_dot3_bit_for_bit(dtype):
    """outer_dot3 gives dot3's numbers exactly, in the logical (..., A, B) shape."""
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(4, 3, 3, generator=generator, dtype=dtype)
    y = torch.randn(5, 1, 2, 2, 3, generator=generator, dtype=dtype)
    result = outer_dot3(x, y)
    assert result.shape == (5, 1, 2, 2, 4, 3)
    assert torch.equal(result, dot3(x, y[..., None, None, :]))
    # y stored component by component (as the detector lays out positions), and several x at once.
    planar = y.movedim(-1, 0).contiguous().movedim(0, -1)
    assert all(torch.equal(each, result) for each in outer_dot3_each((x, x), planar))


def _plain_positions(det, fast_m, slow_m, depth_m):
    """Detector.positions_m as written over (..., 3) before the positions were stored plane by plane."""
    fast_m, slow_m, depth_m = (torch.as_tensor(v, dtype=det.dtype).unsqueeze(-1) for v in (fast_m, slow_m, depth_m))
    return fast_m * det.fdet_vec + slow_m * det.sdet_vec + depth_m * det.odet_vec + det.pix0_vector


@pytest.mark.parametrize("dtype", DTYPES)
def test_detector_positions_equal_the_plain_formula(dtype):
    """Positions summed plane by plane are the (..., 3) formula's numbers, in its shape."""
    from nanobrag_torch.models.detector import Detector

    det = Detector(DetectorConfig(fpixels=7, spixels=5, twotheta_deg=10.0, rotx_deg=3.0), dtype=dtype)
    fast = det.subpixel_coordinates_m(torch.arange(7), 2)[:, None, None, :]
    slow = det.subpixel_coordinates_m(torch.arange(7), 2)[:, None, :, None]
    depth = torch.tensor([0.0, 1e-5], dtype=dtype)[None, :, None, None]
    positions = det.positions_m(fast, slow, depth)
    assert positions.shape == (7, 2, 2, 2, 3)
    assert torch.equal(positions, _plain_positions(det, fast, slow, depth))


def _plain_polint(nodes, ya, x):
    d = [x - nodes[..., i] for i in range(4)]
    return (d[1] * d[2] * d[3] * ya[..., 0] / -6.0 + d[0] * d[2] * d[3] * ya[..., 1] / 2.0
            + d[0] * d[1] * d[3] * ya[..., 2] / -2.0 + d[0] * d[1] * d[2] * ya[..., 3] / 6.0)


def _plain_interpolation(F_table, h, k, l, low):
    """interpolate_structure_factor as written before the gather was laid out interpolation axis first."""
    corner = [torch.floor(index) - 1 for index in (h, k, l)]
    rows = [(c - low).clamp(0, size - 4).to(torch.long) for c, size in zip(corner, F_table.shape)]
    step = torch.arange(4)
    cube = F_table[(rows[0][..., None] + step)[..., :, None, None], (rows[1][..., None] + step)[..., None, :, None],
                   (rows[2][..., None] + step)[..., None, None, :]]
    h_nodes, k_nodes, l_nodes = (c.unsqueeze(-1) + step.to(h.dtype) for c in corner)
    along_l = _plain_polint(l_nodes[..., None, None, :], cube, l[..., None, None])
    along_k = _plain_polint(k_nodes[..., None, :], along_l, k[..., None])
    return _plain_polint(h_nodes, along_k, h)


@pytest.mark.parametrize("chunk", [7, 1 << 14])
@pytest.mark.parametrize("dtype", DTYPES)
def test_interpolation_equals_the_plain_formula(dtype, chunk, monkeypatch):
    """The tricubic interpolation gives the plain formula's numbers with and without gradients, in one chunk
    of points or several."""
    monkeypatch.setattr(physics, "_CHUNK", chunk)
    generator = torch.Generator().manual_seed(4)
    F_table = torch.rand(9, 8, 7, generator=generator, dtype=dtype) * 100
    h, k, l = ((torch.rand(40, 1, 3, generator=generator, dtype=dtype) - 0.5) * 6 for _ in range(3))
    plain = _plain_interpolation(F_table, h, k, l, -4)
    fast = physics.interpolate_structure_factor(F_table, h, k, l, -4, -4, -4)
    traced = physics.interpolate_structure_factor(F_table.clone().requires_grad_(), h, k, l, -4, -4, -4)
    assert fast.shape == plain.shape == (40, 1, 3)
    assert torch.equal(fast, plain) and torch.equal(traced.detach(), plain)


def test_interpolation_range_shortcut_agrees_with_the_elementwise_test():
    """The scan's test at the smallest and largest index finds an index outside the table exactly when the
    elementwise test does, NaN included."""
    from types import SimpleNamespace

    table = SimpleNamespace(h_min=-7, h_max=7, k_min=-5, k_max=6, l_min=-3, l_max=3)
    generator = torch.Generator().manual_seed(5)
    for scale in (1.0, 3.0, 4.0, 5.0, 6.0, 9.0):
        h, k, l = ((torch.rand(50, generator=generator, dtype=torch.float64) - 0.5) * 2 * scale for _ in range(3))
        for values in ((h, k, l), (h.where(h > 0, torch.nan), k, l)):
            leaves = not bool(physics.interpolation_in_range(*values, table).all())
            may_leave = _c_compat_paths._may_leave_table(table, *values)
            assert may_leave if (leaves or bool(values[0].isnan().any())) else not may_leave


@pytest.mark.parametrize("dtype", DTYPES)
def test_sincg_in_place_equals_the_plain_formula(dtype):
    """The in-place grating function gives the plain formula's numbers, n at x == 0, and leaves x alone."""
    generator = torch.Generator().manual_seed(2)
    h = torch.cat([torch.randn(1000, generator=generator, dtype=dtype) * 7,
                   torch.tensor([0.0, -0.0, 1.0, -3.0, 1e-300 if dtype == torch.float64 else 1e-40], dtype=dtype)])
    x = math.pi * h
    before = x.clone()
    assert torch.equal(physics.sincg(x, 10.0), _plain_sincg(x, 10.0))
    assert torch.equal(x, before)


def test_lattice_factor_is_the_same_with_and_without_gradients():
    """The in-place path (no gradient) and the differentiable path give the same F_latt bit for bit."""
    generator = torch.Generator().manual_seed(3)
    h, k, l = (torch.randn(64, generator=generator, dtype=torch.float64) * 5 for _ in range(3))
    fast, fast_parts = physics.lattice_factor(h, k, l, CrystalShape.SQUARE, 10.0, 7.0, 1.0)
    slow, slow_parts = physics.lattice_factor(h.requires_grad_(), k, l, CrystalShape.SQUARE, 10.0, 7.0, 1.0)
    assert torch.equal(fast, slow.detach())
    assert all(torch.equal(a, b.detach()) for a, b in zip(fast_parts, slow_parts))
    plain = _plain_sincg(math.pi * h.detach(), 10.0) * _plain_sincg(math.pi * k, 7.0)
    assert torch.equal(fast, plain)


@pytest.mark.parametrize("shapes", [[(4, 1, 3), (2, 1), ()], [(0, 1), (1, 5)], [(3,), (3,), (1,)]])
def test_broadcast_shape_equals_torch(shapes):
    """broadcast_shape agrees with torch.broadcast_shapes."""
    assert physics.broadcast_shape(*shapes) == tuple(torch.broadcast_shapes(*shapes))


def test_broadcast_shape_names_the_shapes_that_do_not_broadcast():
    """Shapes that do not broadcast raise ValueError naming them."""
    with pytest.raises(ValueError, match=r"shapes \[\(2, 3\), \(4, 3\)\] do not broadcast: axis 0"):
        physics.broadcast_shape((2, 3), (4, 3))


def test_rendering_imports_no_torch_fx():
    """A render does not import torch.fx's symbolic shapes (most of a second of start-up)."""
    code = textwrap.dedent("""
        import sys
        from nanobrag_torch.config import CrystalConfig, DetectorConfig, SimulationConfig
        from nanobrag_torch.simulator import Simulator
        config = SimulationConfig(detector=DetectorConfig(fpixels=8, spixels=8, oversample=2),
                                  crystal=CrystalConfig(cell=(79, 79, 38, 90, 90, 90), Na=10, Nb=10, Nc=10,
                                                        default_F=100, phisteps=2, osc_deg=0.1))
        Simulator.from_config(config).run()
        print("torch.fx.experimental.symbolic_shapes" in sys.modules)
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def _config(oversample=2):
    return SimulationConfig(detector=DetectorConfig(fpixels=12, spixels=10, oversample=oversample),
                            crystal=CrystalConfig(cell=(79, 79, 38, 90, 90, 90), Na=10, Nb=10, Nc=10,
                                                  default_F=100, phisteps=3, osc_deg=0.3,
                                                  mosaic_spread_deg=0.2, mosaic_domains=2))


def test_solid_angle_after_a_run_equals_the_one_computed_alone():
    """solid_angle_sum_sr reuses the sums of run(): the same number as computing it without a run."""
    alone = Simulator.from_config(_config(), batch_evaluations=200).solid_angle_sum_sr()
    simulator = Simulator.from_config(_config(), batch_evaluations=200)
    simulator.run()
    assert simulator.solid_angle_sum_sr() == alone


@pytest.mark.parametrize("oversample", [1, 2])
def test_one_pixel_batches_give_the_image_bit_for_bit(oversample):
    """Batches laid out differently in memory (one pixel, many pixels) sum each pixel in the same order."""
    whole = Simulator.from_config(_config(oversample)).run()
    single = Simulator.from_config(_config(oversample), batch_evaluations=1).run()
    assert torch.equal(whole, single)


# Functions run once per batch of pixels. Converting a tensor to a Python number there (float(), int(),
# bool(), .item(), .tolist(), .cpu(), .numpy()) would wait for the device on every batch.
_RENDER_LOOP = [
    Simulator.run, Simulator._rendered_batches, Simulator._render_one, Simulator._map_batches,
    _cpu.map_in_order, _cpu._with_one_thread, _cpu._in_grad_mode, _cpu._collect, Simulator._render_batch,
    Simulator._directions, Simulator._subpixel_positions, Simulator._detector_factors,
    Simulator._scattering_vectors, Simulator._diffracted_per_source, Simulator._polarization,
    Simulator._miller_indices, Simulator._lattice_factor, Simulator._structure_factor, Simulator._visible,
    Simulator._pixel_intensity, Simulator._term_factors, Simulator._scale, Simulator._source_weights,
    _c_compat_paths.InterpolationCutoff.allowed, _c_compat_paths.InterpolationCutoff._evaluation_index,
    _c_compat_paths.c_pixel_intensity, _c_compat_paths.intensity_terms, _c_compat_paths.sum_per_pixel,
    outer_dot3, outer_dot3_each, physics.lattice_factor, physics.sincg,
    physics._grating, physics._grating_factor, physics.nearest_structure_factor, physics.polarization_factor,
    physics.interpolate_structure_factor, physics._interpolate_points, physics._lagrange_factors,
    physics._polint, physics.interpolation_in_range,
]
# Conversions that are allowed, with the reason: each is on a host tensor or a Python number.
_ALLOWED = {
    # first_of_run is computed from the batch's render positions, a host tensor.
    ("_miller_indices", "bool(first_of_run.any())"),
    # default_F is a Python float: the border value of the padded table.
    ("nearest_structure_factor", "float(default_F)"),
    # order holds render positions, a host tensor: its range is read without waiting for the device.
    ("allowed", "int(order.max())"),
    ("allowed", "int(order.min())"),
    # After the loop, once per run: the solid angle sums of all batches come to the host together.
    ("run", "torch.stack(omega_sums).tolist()"),
}
_CONVERSIONS = {"float", "int", "bool"}
_METHODS = {"item", "tolist", "cpu", "numpy"}


def _conversions(function):
    source = textwrap.dedent(inspect.getsource(function))
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        called = node.func
        if (isinstance(called, ast.Name) and called.id in _CONVERSIONS) or \
                (isinstance(called, ast.Attribute) and called.attr in _METHODS):
            yield ast.get_source_segment(source, node)


@pytest.mark.parametrize("function", _RENDER_LOOP, ids=lambda f: f.__qualname__)
def test_render_loop_does_not_synchronise_with_the_device(function):
    """No per-batch function converts a device tensor to a Python value (the CUDA path runs without
    host synchronisation inside the loop)."""
    found = {(function.__name__, segment) for segment in _conversions(function)}
    assert found - _ALLOWED == set()


@pytest.mark.parametrize("name", ["phys_mosaic", "phys_divergence_dispersion", "phys_oversample3_omega_polar",
                                  "phys_interpolate_N2", "seed_supervisor_pix0"])
def test_traced_pixels_equal_the_untraced_render(name, tmp_path, monkeypatch):
    """The case's trace pixel, rendered alone while the trace harness captures every stage, has the value
    of the untraced run() bit for bit, in both modes."""
    from nanobrag_torch.cli import parse_args
    from nanobrag_torch.trace import trace_run

    from .reference import ReferenceCase, run_folder

    monkeypatch.chdir(run_folder(tmp_path))
    parsed = parse_args(ReferenceCase(name).argv)
    slow, fast = parsed.output.trace_pixel
    for c_compat in (False, True):
        config = dataclasses.replace(parsed.simulation, c_compat=c_compat)
        image = Simulator.from_config(config).run()
        traced = trace_run(config, (slow, fast))
        assert torch.equal(torch.as_tensor(traced.pixel_trace.value, dtype=image.dtype), image[slow, fast])


def test_batches_rendered_concurrently_give_the_image_of_one_thread():
    """Batches rendered by worker threads (or a single batch, in the calling thread) give the image of a
    sequential render bit for bit, report progress in order, and leave torch's thread count as it was."""
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        alone = Simulator.from_config(_config(), batch_evaluations=64)
        assert alone._batch_workers() == 1
        sequential = alone.run()
        torch.set_num_threads(2)
        together = Simulator.from_config(_config(), batch_evaluations=64)
        assert together._batch_workers() == 2
        seen = []
        concurrent = together.run(progress=lambda done, total: seen.append(done))
        assert torch.get_num_threads() == 2
        one_batch = Simulator.from_config(_config())  # rendered in this thread, with one intra-op thread
        assert len(list(one_batch._batches())) == 1 and torch.equal(one_batch.run(), sequential)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(sequential, concurrent)
    assert seen == sorted(seen) and seen[-1] == 120
    assert together.solid_angle_sum_sr() == alone.solid_angle_sum_sr()


def test_worker_threads_follow_the_callers_gradient_mode():
    """Under torch.no_grad() the concurrent render records no graph; outside it, the image has one."""
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        config = _config()
        config.detector.distance_mm = torch.tensor(100.0, dtype=torch.float64, requires_grad=True)
        with torch.no_grad():
            assert not Simulator.from_config(config, batch_evaluations=64).run().requires_grad
        assert Simulator.from_config(config, batch_evaluations=64).run().requires_grad
    finally:
        torch.set_num_threads(threads)


def test_c_compat_interpolation_renders_concurrently_with_the_image_of_one_thread():
    """With the C's interpolation switch-off, the cut-off is found before any batch renders, so the batches
    render on two workers and give the image of one thread; the cut-off is the same for any batch size. The
    default mode (interpolation falls back per evaluation) renders on two workers too."""
    from nanobrag_torch.cli import parse_args

    flags = "-cell 100 100 100 90 90 90 -hkl {hkl} -N 2 -interpolate -lambda 1 -distance 100 -pixel 0.5 " \
            "-detpixels 24 -oversample 1 -Xbeam 0.5 -Ybeam 0.5"
    hkl = Path(__file__).resolve().parents[1] / "data" / "c_reference" / "inputs" / "cubic.hkl"
    config = dataclasses.replace(parse_args(flags.format(hkl=hkl).split()).simulation, c_compat=True)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        sequential = Simulator.from_config(config).run()
        torch.set_num_threads(2)
        images, cutoffs = [], set()
        for batch in (1, 9, 77, 5000):
            simulator = Simulator.from_config(config, batch_evaluations=batch)
            assert simulator._batch_workers() == 2
            images.append(simulator.run())
            cutoffs.add(simulator.interpolation_cutoff())
        assert Simulator.from_config(dataclasses.replace(config, c_compat=False))._batch_workers() == 2
    finally:
        torch.set_num_threads(threads)
    assert len(cutoffs) == 1 and None not in cutoffs
    assert all(torch.equal(image, sequential) for image in images)


@pytest.mark.parametrize("environment", [{}, {"MALLOC_ARENA_MAX": "2"},
                                         {"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=0"}])
def test_malloc_thresholds_are_set_once_unless_the_environment_sets_malloc(environment, monkeypatch):
    """The first render sets glibc's mmap and trim thresholds once; a malloc setting in the environment (the
    user's choice) leaves them alone."""
    calls = []

    class FakeLibc:
        def mallopt(self, parameter, value):
            calls.append((parameter, value))
            return 1

    for name in _cpu._USER_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(_cpu, "_done", False)
    monkeypatch.setattr(_cpu, "_glibc", lambda: True)
    monkeypatch.setattr(_cpu.ctypes, "CDLL", lambda name: FakeLibc())
    _cpu.keep_freed_memory()
    _cpu.keep_freed_memory()
    expected = [] if environment else [(_cpu._M_MMAP_THRESHOLD, 32 << 20), (_cpu._M_TRIM_THRESHOLD, 64 << 20)]
    assert calls == expected
