// `day2 task exec`: a command in a running container through an ExecSession, with the local
// terminal in raw mode for -t (restored on every way out) and stdin streamed for -i.
#pragma once

#include "cli/client_commands.h"
#include "client/api_client.h"

#include <QString>

namespace day2::cli {

// Runs `o.command` over agent path `path` (exec/v1/containers/<cid>); `label` names the task
// in messages. The remote exit code, 1 for an error.
int runExec(const client::Endpoint& endpoint, const QString& path, const QString& label,
            const ExecOptions& o);

} // namespace day2::cli
