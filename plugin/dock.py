"""The "Depth slices" dock: scroll a volume layer level by level in the map.

Widgets only; the logic (which band shows which elevation, styling, export through
the ``voxprospect:slices`` algorithm) lives in :mod:`.slices` and is tested
headless. The export runs as a background Processing task so QGIS never freezes;
moving the slider only switches the renderer's band.
"""

from __future__ import annotations

from pathlib import Path

from qgis.core import (QgsApplication, QgsProcessingAlgRunnerTask, QgsProcessingContext, QgsProcessingFeedback,
                       QgsProject)
from qgis.gui import QgsDockWidget, QgsFileWidget
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtWidgets import (QComboBox, QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel, QPushButton,
                                 QSlider, QVBoxLayout, QWidget)

from . import slices as sl


class DepthSlicesDock(QgsDockWidget):
    """Pick a volume and a layer; a vertical slider and a spin box choose the elevation.

    Parameters
    ----------
    iface : QgisInterface
    open_algorithm : callable, optional
        ``open_algorithm(algorithm_id, parameters)``; used by "Export targets…".
    project : QgsProject, optional
        Where the slices layer is added (the current project by default).
    """

    def __init__(self, iface=None, open_algorithm=None, project=None, parent=None):
        super().__init__("Depth slices", parent)
        self.setObjectName("voxprospectDepthSlices")
        self.iface = iface
        self.open_algorithm = open_algorithm
        self.project = project or QgsProject.instance()
        self.slices: sl.DepthSlices | None = None
        self._shown_volume = None  # the volume file whose layers the slider drives
        self._keep_level = None  # the level to keep when switching layers of one volume
        self._task = None
        self._updating = False

        body = QWidget(self)
        form = QFormLayout()
        self.file_widget = QgsFileWidget(body)
        self.file_widget.setFilter("Volumes and depth slices (*.vti *.tif *.tiff);;All files (*)")
        self.file_widget.fileChanged.connect(self.on_file_changed)
        form.addRow("Volume", self.file_widget)
        self.layer_combo = QComboBox(body)
        self.layer_combo.setToolTip("The volume layer shown. Once slices are shown, choosing another "
                                    "layer of the same volume (the uncertainty, prospectivity_std, or the "
                                    "lower quantile, prospectivity_q10) switches the map to it at the same level")
        self.layer_combo.currentIndexChanged.connect(self.on_layer_changed)
        form.addRow("Layer", self.layer_combo)
        self.show_button = QPushButton("Show slices", body)
        self.show_button.clicked.connect(self.show_volume)
        form.addRow("", self.show_button)
        # depth-slice layers already in the project (exported from the toolbox, a saved project)
        self.existing_combo = QComboBox(body)
        self.existing_combo.setToolTip("Depth-slice layers already in the project")
        self.adopt_button = QPushButton("Use", body)
        self.adopt_button.setToolTip("Scroll this layer's levels with the slider")
        self.adopt_button.clicked.connect(self.adopt_selected)
        adopt_row = QHBoxLayout()
        adopt_row.addWidget(self.existing_combo, 1)
        adopt_row.addWidget(self.adopt_button)
        form.addRow("In project", adopt_row)
        self.project.layersAdded.connect(lambda *_: self.refresh_existing())
        self.project.layersRemoved.connect(lambda *_: self.refresh_existing())

        self.slider = QSlider(Qt.Vertical, body)
        self.slider.setTickPosition(QSlider.TicksRight)
        self.slider.valueChanged.connect(self.on_slider)
        self.elevation_box = QDoubleSpinBox(body)
        self.elevation_box.setSuffix(" m a.s.l.")
        self.elevation_box.setToolTip("Elevation of the level's cell centres, metres above sea level")
        self.elevation_box.setKeyboardTracking(False)
        self.elevation_box.valueChanged.connect(self.on_elevation)
        self.level_label = QLabel("", body)
        levels = QVBoxLayout()
        levels.addWidget(QLabel("Elevation, m a.s.l. (top)", body))
        row = QHBoxLayout()
        row.addWidget(self.slider)
        side = QVBoxLayout()
        side.addWidget(self.elevation_box)
        side.addWidget(self.level_label)
        side.addStretch(1)
        row.addLayout(side)
        levels.addLayout(row)
        levels.addWidget(QLabel("(bottom)", body))

        self.targets_button = QPushButton("Export targets…", body)
        self.targets_button.setToolTip("Targets of this prospectivity volume as a GeoPackage")
        self.targets_button.clicked.connect(self.export_targets)
        self.status = QLabel("", body)
        self.status.setWordWrap(True)

        outer = QVBoxLayout(body)
        outer.addLayout(form)
        outer.addLayout(levels, 1)
        outer.addWidget(self.targets_button)
        outer.addWidget(self.status)
        self.setWidget(body)
        self._enable_levels(False)
        self.refresh_existing()

    # -- layers already in the project ------------------------------------------------
    def refresh_existing(self):
        """List the project's depth-slice layers (adoptable without a new export)."""
        try:
            layers = sl.slice_layers(self.project)
        except RuntimeError:  # the project is being torn down
            return
        current = self.existing_combo.currentData()
        self.existing_combo.clear()
        for layer in layers:
            self.existing_combo.addItem(layer.name(), layer.id())
        if current is not None and self.existing_combo.findData(current) >= 0:
            self.existing_combo.setCurrentIndex(self.existing_combo.findData(current))
        self.adopt_button.setEnabled(bool(layers))

    def adopt_selected(self):
        """Drive the chosen project layer with the slider (no export, no new layer)."""
        layer = self.project.mapLayer(self.existing_combo.currentData() or "")
        if layer is None:
            return
        if self.slices is not None and self.slices.layer is layer:
            return
        slices = sl.DepthSlices(layer)
        slices.set_level(slices.best_level())
        self.attach(slices)

    # -- choosing the volume ----------------------------------------------------------
    def on_file_changed(self, path: str):
        self._updating = True  # filling the list is not a layer switch
        try:
            self.layer_combo.clear()
            if not path:
                return
            try:
                names = sl.volume_layer_names(path)
            except Exception as e:  # - any unreadable file is a message, not a crash
                self.status.setText(f"Cannot read {path}: {e}")
                return
            for name in names:
                self.layer_combo.addItem(sl.layer_description(name), name)
            if sl.MEAN_LAYER in names:
                self.layer_combo.setCurrentIndex(names.index(sl.MEAN_LAYER))
        finally:
            self._updating = False
        self.status.setText("")

    def current_layer(self) -> str | None:
        """The chosen volume layer's name (the list shows it with what it holds)."""
        return self.layer_combo.currentData() or self.layer_combo.currentText() or None

    def select_layer(self, name: str) -> bool:
        """Choose ``name`` in the layer list (switches the map when slices are shown)."""
        index = self.layer_combo.findData(name)
        if index < 0:
            return False
        self.layer_combo.setCurrentIndex(index)
        return True

    def on_layer_changed(self, _index=None):
        """Another layer of the volume on show: show it at the same level."""
        if self._updating or self.slices is None or self._task is not None:
            return
        path = self.file_widget.filePath()
        if not path or path != self._shown_volume or Path(path).suffix.lower() in (".tif", ".tiff"):
            return
        if self.current_layer() == self.slices.base_name:
            return
        self._keep_level = self.slices.level
        self.show_volume()

    def show_volume(self):
        """Export (in the background) and show the chosen layer's depth slices."""
        path = self.file_widget.filePath()
        if not path:
            self.status.setText("Choose a volume (.vti) or a depth-slice GeoTIFF first.")
            return
        layer = self.current_layer()
        if Path(path).suffix.lower() in (".tif", ".tiff"):
            self.attach(sl.open_depth_slices(path, layer=None, project=self.project))
            self.status.setText(self._level_text())
            return
        alg = QgsApplication.processingRegistry().createAlgorithmById("voxprospect:slices")
        if alg is None:
            self.status.setText("The voxprospect algorithms are not available (see the log for what to install).")
            return
        params = sl.slices_parameters(path, layer)
        context = QgsProcessingContext()
        context.setProject(self.project)
        feedback = QgsProcessingFeedback()
        task = QgsProcessingAlgRunnerTask(alg, params, context, feedback)
        # the task owns nothing we need after it ends; keep Python references alive until then
        self._task = (task, context, feedback, alg)
        task.executed.connect(lambda ok, results: self._on_exported(ok, results, layer, feedback, path))
        self.show_button.setEnabled(False)
        self.status.setText("Writing depth slices…")
        QgsApplication.taskManager().addTask(task)

    def _on_exported(self, ok, results, layer, feedback, volume_path=None):
        self.show_button.setEnabled(True)
        self._task = None
        keep, self._keep_level = self._keep_level, None
        if not ok:
            self.status.setText("Export failed: " + (feedback.textLog().strip().splitlines() or ["see the log"])[-1])
            return
        previous = self.slices.layer if self.slices is not None else None
        slices = sl.open_depth_slices(results["OUTPUT"], layer=layer, project=self.project)
        if keep is not None:
            slices.set_level(keep)  # a layer switch keeps the depth the user was looking at
        self._shown_volume = volume_path
        if keep is not None and previous is not None and previous is not slices.layer:
            sl.show_only(self.project, slices.layer, previous)  # one layer of the volume at a time
        self.attach(slices)
        # the file's name (the full path, often a long temporary one, in the tooltip)
        self.status.setText(f"Depth slices written to {Path(results['OUTPUT']).name}.\n" + self._level_text())
        self.status.setToolTip(str(results["OUTPUT"]))

    def attach(self, slices: sl.DepthSlices):
        """Drive ``slices`` with the slider and spin box (used after loading)."""
        self.slices = slices
        n = slices.n_levels
        known = [z for z in slices.elevations if z is not None]
        self._updating = True
        try:
            self.slider.setRange(0, n - 1)
            self.slider.setValue(slices.level)
            if known:
                self.elevation_box.setRange(min(known), max(known))
                step = (max(known) - min(known)) / max(1, n - 1)
                self.elevation_box.setSingleStep(step or 1.0)
                # as many decimals as the elevations need (cell centres of 12.5 m cells end in .25)
                self.elevation_box.setDecimals(next((d for d in range(4) if all(
                    abs(round(z, d) - z) < 1e-6 for z in known)), 3))
                self.elevation_box.setValue(slices.elevation() or 0.0)
        finally:
            self._updating = False
        self._enable_levels(True)
        self._show_level()
        if self.iface is not None:
            self.iface.setActiveLayer(slices.layer)
        # several volumes may have been shown: only the current one's removal detaches
        slices.layer.willBeDeleted.connect(lambda s=slices: self._layer_removed(s))
        self.status.setText(self._level_text())

    def _layer_removed(self, slices):
        if self.slices is slices:
            self.close_volume()

    def close_volume(self):
        self.slices = None
        self._enable_levels(False)

    # -- scrolling ------------------------------------------------------------------
    def on_slider(self, level: int):
        if self._updating or self.slices is None:
            return
        self.slices.set_level(level)
        self._sync_from_slices()

    def on_elevation(self, elevation: float):
        if self._updating or self.slices is None:
            return
        self.slices.set_elevation(elevation)
        self._sync_from_slices()

    def _sync_from_slices(self):
        self._updating = True
        try:
            self.slider.setValue(self.slices.level)
            z = self.slices.elevation()
            if z is not None:
                self.elevation_box.setValue(z)
        finally:
            self._updating = False
        self._show_level()

    def _show_level(self):
        s = self.slices
        depth = s.depth()
        below = f"\n{depth:g} m below surface" if depth is not None else ""
        self.level_label.setText(f"level {s.level + 1} of {s.n_levels}{below}\nband {s.band}")
        self.status.setText(self._level_text())
        sl.follow_level(sl.outline_layers(self.project), s.level)  # targets of this level only

    def _level_text(self) -> str:
        s = self.slices
        if s is None:
            return ""
        z, depth = s.elevation(), s.depth()
        if z is None:
            return f"{s.title}: band {s.band} of {s.n_levels}"
        text = f"{s.title} at z={z:g} m a.s.l."
        if depth is not None:
            text += f", {depth:g} m below surface"
        if s.level not in s.non_empty_levels:
            text += " (no data at this level: above the topography)"
        return text

    def _enable_levels(self, on: bool):
        for w in (self.slider, self.elevation_box):
            w.setEnabled(on)
        if not on:
            self.level_label.setText("")

    # -- targets --------------------------------------------------------------------
    def export_targets(self):
        path = self.file_widget.filePath()
        params = {"PROSPECTIVITY": path} if path.lower().endswith(".vti") else {}
        layer = self.current_layer()
        if layer and sl.layer_kind(layer) in ("uncertainty", "attribution"):
            layer = sl.MEAN_LAYER  # targets are found on the mean, never on its spread
        if layer:
            params["LAYER"] = layer
        if self.open_algorithm is not None:
            self.open_algorithm("voxprospect:exporttargets", params)
