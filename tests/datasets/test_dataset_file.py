"""The dataset file, read back with readers this package did not write: nxmx (geometry), h5py + hdf5plugin
(pixels), fabio (SMV); its frames against single-image runs of nanobrag-torch; resuming an interrupted file."""

import shutil

import numpy as np
import pytest

from nanobrag_torch.cli import main as nanobrag_main
from nanobrag_torch.datasets import DatasetError, DatasetSpec, render_frame, write_dataset
from nanobrag_torch.datasets._rotations import lab_to_mcstas
from nanobrag_torch.simulator import Simulator

from .commands import SERIES, STILLS
from .helpers import assert_same_dataset, frames_of, h5py

nxmx = pytest.importorskip("nxmx", reason="the nxmx reader is not installed")
fabio = pytest.importorskip("fabio", reason="fabio is not installed")

TILTED = {
    "mosflm-rotated": "-detector_rotx 3 -detector_roty -4 -detector_rotz 5 -twotheta 10 -Xbeam 2.9 -Ybeam 3.7",
    "custom-tilted-beam": "-fdet_vector 0 0 1 -sdet_vector 0 -1 0 -odet_vector 1 0 0 -beam_vector 0.98 0.15 0.13 "
                          "-detector_rotz 7 -pivot sample",
}


def ulps(a: np.ndarray, b: np.ndarray) -> int:
    """The largest distance, in float32 units in the last place, between two float32 images."""
    a, b = (np.asarray(x, np.float32).view(np.int32).astype(np.int64) for x in (a, b))
    return int(np.abs(a - b).max())


@pytest.mark.parametrize("name", sorted(TILTED))
def test_nxmx_reads_back_the_detectors_axes_and_origin(tmp_path, name):
    """nxmx's module axes and origin, turned back into nanoBragg's frame, equal the Detector's to 1e-12."""
    spec = DatasetSpec.series(SERIES + TILTED[name].split() + ["-nonoise"], 1)
    write_dataset(spec, str(tmp_path / "d.h5"))
    detector = Simulator.from_config(spec.frame_config(0)).detector
    back = lab_to_mcstas(detector.beam_vector.numpy()).T  # McStas -> nanoBragg
    with h5py.File(tmp_path / "d.h5", "r") as handle:
        module = nxmx.NXmx(handle).entries[0].instruments[0].detectors[0].modules[0]
        chain = nxmx.get_dependency_chain(module.fast_pixel_direction.depends_on)
        origin_mm = nxmx.get_cumulative_transformation(chain)[0, :3, 3]
        fast, slow = module.fast_pixel_direction.vector, module.slow_pixel_direction.vector
        pixel_mm = module.fast_pixel_direction[()].to("mm").magnitude
    assert np.abs(back @ fast - detector.fdet_vec.numpy()).max() < 1e-12
    assert np.abs(back @ slow - detector.sdet_vec.numpy()).max() < 1e-12
    assert np.abs(back @ origin_mm / 1e3 - detector.pix0_vector.numpy()).max() < 1e-12
    assert pixel_mm == pytest.approx(0.1, abs=1e-15)


def test_nxmx_reads_the_series_scan_beam_and_crystal(local_series, series_spec):
    """The sample's scan axis is phi with each frame's start; the wavelength and cell are the command's."""
    with h5py.File(local_series, "r") as handle:
        entry = nxmx.NXmx(handle).entries[0]
        axes = nxmx.get_rotation_axes(nxmx.get_dependency_chain(entry.samples[0].depends_on))
        phi = entry.samples[0].depends_on[()].to("deg").magnitude.tolist()
        wavelength = entry.instruments[0].beams[0].incident_wavelength.to("angstrom").magnitude
        vectors = handle["entry/nanobragg/real_space_vectors"][()]
        assert (entry.definition, entry.end_time is not None) == ("NXmx", True)
    assert axes.names.tolist() == ["phi"] and axes.is_scan_axis.tolist() == [True]
    assert axes.axes[0].tolist() == [-1.0, 0.0, 0.0]  # MOSFLM's spindle, +z in nanoBragg's frame
    assert phi == [3.0, 3.5, 4.0, 4.5] and wavelength == 1.0
    assert np.allclose(np.linalg.norm(vectors, axis=2), [70, 80, 90], rtol=0, atol=1e-9)


def test_pixels_read_with_h5py_are_the_rendered_frames(local_series, series_spec):
    """h5py + hdf5plugin decompress each frame (bitshuffle/LZ4) to the frame rendered alone."""
    stack = frames_of(local_series)
    assert stack.dtype == np.uint16 and stack.shape == (4, 64, 64)
    for index in (0, 3):
        assert np.array_equal(stack[index], render_frame(series_spec, index).image)


def test_series_frame_equals_the_single_image_run_of_its_phi_range(tmp_path, monkeypatch, capsys):
    """Frame 2 equals `nanobrag-torch <command> -phi 4.0 -osc 0.5 -floatfile`, to 2 float32 ulps."""
    spec = DatasetSpec.series(SERIES + ["-nonoise"], 4)
    write_dataset(spec, str(tmp_path / "f.h5"), compression="gzip")
    monkeypatch.chdir(tmp_path)
    assert nanobrag_main(SERIES + "-nonoise -phi 4.0 -osc 0.5 -floatfile single.bin -intfile i.img -nopgm".split()) == 0
    single = np.fromfile(tmp_path / "single.bin", dtype="<f4").reshape(64, 64)
    frame = frames_of(tmp_path / "f.h5")[2]
    assert frame.max() > 100 and ulps(frame, single) <= 2


def test_noise_frame_equals_the_noisefile_of_its_seed(local_series, series_spec, tmp_path, monkeypatch, capsys):
    """Frame 1's noise counts are nanoBragg's -noisefile image drawn with the recorded noise seed."""
    with h5py.File(local_series, "r") as handle:
        seed = int(handle["entry/nanobragg/noise_seed"][1])
    assert seed == series_spec.plan(1).noise_seed
    monkeypatch.chdir(tmp_path)
    assert nanobrag_main(series_spec.command_line(1) + "-noisefile n.img -intfile i.img -nopgm".split()) == 0
    assert np.array_equal(frames_of(local_series)[1], fabio.open("n.img").data)


def test_a_still_equals_its_command_line_and_nxmx_reads_it_as_a_still(tmp_path, monkeypatch, capsys):
    """Shot 2 (random orientation, jittered fluence) equals nanobrag-torch run with command_line(2); the
    sample depends on nothing, and the file records the shot's misset angles and fluence."""
    spec = DatasetSpec.stills(STILLS, 3, fluence_jitter=0.25)
    write_dataset(spec, str(tmp_path / "s.h5"))
    monkeypatch.chdir(tmp_path)
    assert nanobrag_main(spec.command_line(2) + "-noisefile n.img -floatfile f.bin -intfile i.img -nopgm".split()) == 0
    with h5py.File(tmp_path / "s.h5", "r") as handle:
        assert nxmx.NXmx(handle).entries[0].samples[0].depends_on is None
        misset = handle["entry/nanobragg/misset_deg"][2].tolist()
        fluence = handle["entry/nanobragg/fluence"][2]
    assert np.array_equal(frames_of(tmp_path / "s.h5")[2], fabio.open("n.img").data)
    assert misset == list(spec.plan(2).misset_deg)
    assert fluence == pytest.approx(spec.parsed.simulation.beam.fluence * spec.plan(2).fluence_factor, rel=1e-15)


def test_pixel_mask_flags_what_the_roi_leaves_out(tmp_path):
    """With -roi, NXmx's pixel_mask is 1 outside it and the frames are 0 there."""
    spec = DatasetSpec.series(SERIES + "-roi 10 50 0 31 -nonoise".split(), 1)
    write_dataset(spec, str(tmp_path / "r.h5"), compression="none")
    with h5py.File(tmp_path / "r.h5", "r") as handle:
        mask = handle["entry/instrument/detector/pixel_mask"][()]
    inside = np.zeros((64, 64), bool)
    inside[0:32, 10:51] = True
    assert np.array_equal(mask == 0, inside)
    assert not frames_of(tmp_path / "r.h5")[0][~inside].any() and frames_of(tmp_path / "r.h5")[0][inside].any()


def test_an_interrupted_file_is_completed_by_running_the_job_again(tmp_path, series_spec, local_series):
    """Stopped after 2 frames, the file flags 2 complete frames and reads the others as the fill value;
    the same job run again renders only those 2, and the file then equals an uninterrupted one."""
    path = tmp_path / "series.h5"

    def stop_after_two(done, total):
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_dataset(series_spec, str(path), progress=stop_after_two)
    with h5py.File(path, "r") as handle:
        assert handle["entry/nanobragg/frame_complete"][()].tolist() == [1, 1, 0, 0]
        assert "end_time" not in handle["entry"]
    assert (frames_of(path)[2:] == 65535).all()
    report = write_dataset(series_spec, str(path))
    assert (report.rendered, report.already_complete) == (2, 2)
    assert_same_dataset(path, local_series)


def test_a_file_holding_another_job_is_not_resumed(tmp_path, series_spec, local_series):
    """Another frame count is refused, naming what differs; -overwrite replaces the file."""
    path = tmp_path / "series.h5"
    shutil.copy(local_series, path)
    longer = DatasetSpec.series(SERIES, 5)
    with pytest.raises(DatasetError) as caught:
        write_dataset(longer, str(path))
    assert str(caught.value) == (f"-o {path}: holds another dataset (frames: 4 there, 5 here); choose another "
                                 "output, or -overwrite to replace it")
    assert write_dataset(longer, str(path), overwrite=True, compression="gzip").rendered == 5


def test_a_file_that_is_not_a_dataset_is_left_alone(tmp_path, series_spec):
    """A file that is not HDF5 is refused, and left unchanged."""
    path = tmp_path / "notes.h5"
    path.write_text("not hdf5")
    with pytest.raises(DatasetError, match=r"cannot open it as HDF5 to resume it"):
        write_dataset(series_spec, str(path))
    assert path.read_text() == "not hdf5"


def test_smv_files_per_frame_read_with_fabio(tmp_path, series_spec, local_series):
    """-smv writes one SMV file per frame, numbered from 1, with the frame's pixels and PHI."""
    (tmp_path / "frames").mkdir()
    write_dataset(series_spec, str(tmp_path / "s.h5"), smv=str(tmp_path / "frames" / "img_###.img"))
    stack = frames_of(local_series)
    names = sorted(p.name for p in (tmp_path / "frames").iterdir())
    assert names == ["img_001.img", "img_002.img", "img_003.img", "img_004.img"]
    fourth = fabio.open(str(tmp_path / "frames" / "img_004.img"))
    assert np.array_equal(fourth.data, stack[3]) and float(fourth.header["PHI"]) == 4.5
