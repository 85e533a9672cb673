"""Physical BCG simulator: subject → ECG → aortic pressures → Kim force → body/bed → fibre → DAQ.

``sim`` never imports torch (nor ``med2ecg``, ``hil``, ``cli`` or ``validation``).
"""

__version__ = "0.1.0"
