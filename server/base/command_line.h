// The command-line convention of day2's programs: --help exits 0, a usage error exits 2.
// Header-only; include it only where CLI11 is already on the include path.
#pragma once

#include <CLI/CLI.hpp>

#include <optional>

namespace day2 {

inline constexpr int kExitUsage = 2;

// Parses argv into `app`. Returns the exit code when the program should stop (help shown, or a
// usage error explained on stderr), nothing when it should go on.
inline std::optional<int> parseCommandLine(CLI::App& app, int argc, char** argv) {
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        app.exit(e);
        return kExitUsage;
    }
    return std::nullopt;
}

} // namespace day2
