"""memorybench: how far back can SRN, LSTM and GRU cells remember?"""

__version__ = "0.2.0"
