// The agent's persistent id: generated once, kept in the state directory.
#pragma once

#include "base/result.h"

#include <string>

namespace day2::agent {

// Reads <stateDir>/agent_id, or creates the directory and a new random UUID there.
Result<std::string> loadOrCreateAgentId(const std::string& stateDir);

} // namespace day2::agent
