// Compiled only to produce the shared precompiled torch/torch.h (cmake/Funnel.cmake).
