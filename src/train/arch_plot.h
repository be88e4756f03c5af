#pragma once
// The searched connection matrix drawn like AutoHERI's Fig. 2, as one self-contained SVG (no
// scripts, fonts or network needed): one heatmap per edge group (preceding tower ->
// succeeding tower), rows = source layers h_t^i, columns = target layers h_s^j, the cell
// colour = alpha (white 0 -> dark blue 1; z when the architecture has no alpha), kept
// connections (z = 1) framed in black, non-candidates of the scheme hatched grey.

#include <string>

#include "model/autoheri_arch.h"

namespace funnel::train {

std::string arch_to_svg(const model::AutoHeriArch& arch);

}  // namespace funnel::train
