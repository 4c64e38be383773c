"""The engine: one training loop (`loop`), replica layouts (`replicas`, `stacked`, `block`,
`layout`), the CUDA-graph step (`graphs`) and every packing decision (`policy`)."""
