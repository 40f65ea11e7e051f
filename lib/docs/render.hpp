#pragma once
// Documentation generated from the tables that drive the program: the exit-code table
// (lib/common/exit_codes.cpp) and the command-line, configuration and environment tables
// (lib/config/config_docs.cpp). One source, many outputs: --help, the man page, the README's
// generated sections and the systemd unit's RestartPreventExitStatus=. `sw-gen-docs`
// (gen_docs_main.cpp) writes them at build time; `scripts/gen-docs` refreshes the README, and
// the `docs` test fails when the committed README is stale.
#include <string>
#include <string_view>
#include <vector>

namespace sw::docs {

/// The README's usage block: the output of `start-worker --help` in a code fence.
std::string usage_markdown();

/// The configuration reference: every key of the runner config, of every provider and worker
/// implementation, as Markdown tables.
std::string config_reference_markdown();

/// The exit codes as a Markdown table: code, meaning, whether the unit restarts the runner.
std::string exit_codes_markdown();

/// For the operator: each exit code and what to check (Markdown table).
std::string troubleshooting_markdown();

/// The codes after which systemd must not restart the runner, space-separated ("3 4 64 77 78"):
/// every nonzero code whose table entry says a restart does not help.
std::string restart_prevent_exit_status();

/// The unit template with @RESTART_PREVENT_EXIT_STATUS@ (the list above),
/// @RESTART_PREVENT_COMMENT@ (one comment line per code) and @VERSION@ filled in. @BINDIR@
/// stays: it is known only at install time. Throws std::runtime_error if a placeholder is
/// missing from the template.
std::string unit_file(std::string_view unit_template);

/// The man page start-worker.1 (groff, man macros), from the same tables as --help.
std::string man_page();

/// A generated README section: the lines between "<!-- start-NAME -->" and "<!-- end-NAME -->".
struct readme_block {
    std::string name;
    std::string content;
};
/// Every generated README section, in the order they appear.
std::vector<readme_block> readme_blocks();

/// `readme` with every block of readme_blocks() replaced by its current content. Throws
/// std::runtime_error naming the marker when a start or end marker is missing.
std::string regenerate_readme(std::string_view readme);

}  // namespace sw::docs
