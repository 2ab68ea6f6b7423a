#include "edgesim/pipeline/fleet.hpp"

#include <utility>

namespace edgesim {

Fleet::Fleet(double reference, std::vector<DeviceProfile> d)
    : reference_flops_per_s(reference), devices(std::move(d)), links(links_of(devices)) {}

}  // namespace edgesim
