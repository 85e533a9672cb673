"""Model-side constants (DESIGN §5): the window the model sees and the labels it learns."""

FS = 250.0  #: model sampling rate, Hz
WINDOW_S = 10.0  #: window length, s
WINDOW = 2500  #: samples per window
BAND = (0.5, 20.0)  #: BCG band-pass, Hz (3rd-order Butterworth)
LANDMARKS = ("p_onset", "qrs_onset", "qrs_offset", "t_offset")
REGIONS = {"other": 0, "p": 1, "qrs": 2, "t": 3}
LANDMARK_HALF_WIDTH_S = 0.020  #: landmark masks are ±20 ms boxes
