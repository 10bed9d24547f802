"""Video frames to a quantized model: fitting, loss weights, rate control and quantization with
compensation."""
