// Renders the documentation tables as Markdown (README), groff (man page) and unit-file text.
#include "lib/docs/render.hpp"

#include "lib/common/exit_codes.hpp"
#include "lib/config/runner_config.hpp"
#include "version.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace sw::docs {

namespace {

/// Markdown table cell text: `|` escaped everywhere (GFM tables need it even in code spans),
/// `<` and `>` as entities outside code spans so that "<workerType>" is not taken for HTML.
std::string md(std::string_view text) {
    std::string out;
    bool code = false;
    for (char c : text) {
        if (c == '`') code = !code;
        if (c == '|')
            out += "\\|";
        else if (!code && c == '<')
            out += "&lt;";
        else if (!code && c == '>')
            out += "&gt;";
        else
            out += c;
    }
    return out;
}

void key_table(std::string& out, const std::vector<config::key_doc>& keys,
               std::string_view prefix) {
    out += "| key | type | required | meaning |\n|---|---|---|---|\n";
    for (const auto& k : keys)
        out += fmt::format("| `{}{}` | {} | {} | {} |\n", prefix, k.key, md(k.type),
                           k.required ? "yes" : "no", md(k.description));
}

void sections(std::string& out, const std::vector<config::section_doc>& docs,
              std::string_view prefix, std::string_view type_key) {
    for (const auto& d : docs) {
        out += fmt::format("\n#### `{}`\n\n{}\n\n", d.name, md(d.summary));
        if (d.keys.empty())
            out += fmt::format("No `{}` keys besides `{}`.\n", prefix.substr(0, prefix.size() - 1),
                               type_key);
        else
            key_table(out, d.keys, prefix);
    }
}

/// groff text: backslashes and hyphens escaped, `code` in bold, a leading dot or quote
/// neutralised.
std::string roff(std::string_view text) {
    std::string out;
    bool code = false;
    for (char c : text) {
        if (c == '\\')
            out += "\\e";
        else if (c == '-')
            out += "\\-";
        else if (c == '`')
            out += (code = !code) ? "\\fB" : "\\fR";
        else
            out += c;
    }
    if (!out.empty() && (out[0] == '.' || out[0] == '\'')) out.insert(0, "\\&");
    return out;
}

/// A synopsis such as "--once <runnerConfig>" in man style: options bold, <placeholders>
/// italic, "|" plain.
std::string roff_synopsis(std::string_view s) {
    std::string out;
    std::size_t i = 0;
    while (i < s.size()) {
        const auto end = std::min(s.find(' ', i), s.size());
        const auto word = s.substr(i, end - i);
        if (!out.empty()) out += ' ';
        if (word.size() > 2 && word.front() == '<' && word.back() == '>')
            out += "\\fI" + roff(word.substr(1, word.size() - 2)) + "\\fR";
        else if (word == "|")
            out += "|";
        else
            out += "\\fB" + roff(word) + "\\fR";
        i = end + 1;
    }
    return out;
}

std::string replace_all(std::string s, std::string_view from, std::string_view to) {
    for (auto pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size()))
        s.replace(pos, from.size(), to);
    return s;
}

}  // namespace

std::string usage_markdown() {
    return "```text\n" + config::help_text() + "```\n";
}

std::string config_reference_markdown() {
    std::string out;
    out += fmt::format(
        "Generated from start-worker {}'s own tables (`scripts/gen-docs`); `start-worker --help` "
        "and `man start-worker` show the same. A key marked required inside an optional section "
        "(`autologin`, `health`) is required when that section is given. Unknown keys are "
        "ignored with a warning, as the Go runner does.\n\n",
        sw::version);
    out += "### Top-level keys\n\n";
    key_table(out, config::top_level_docs(), "");
    out += "\n### Providers (`provider.providerType`)\n";
    sections(out, config::provider_docs(), "provider.", "providerType");
    out += "\n### Worker implementations (`worker.implementation`)\n";
    sections(out, config::worker_docs(), "worker.", "implementation");
    out += "\n### Environment\n\n| variable | effect |\n|---|---|\n";
    for (const auto& e : config::environment_docs()) {
        std::string names;
        for (std::size_t i = 0; i < e.name.size();) {
            const auto comma = std::min(e.name.find(", ", i), e.name.size());
            if (!names.empty()) names += ", ";
            names += "`" + std::string(e.name.substr(i, comma - i)) + "`";
            i = comma + 2;
        }
        out += fmt::format("| {} | {} |\n", names, md(e.description));
    }
    return out;
}

std::string exit_codes_markdown() {
    std::string out = "| code | meaning | restarted by the unit |\n|---|---|---|\n";
    for (const auto& e : exit_code_table())
        out += fmt::format("| {} | {} | {} |\n", to_int(e.code), md(e.meaning),
                           e.code == exit_code::ok ? "no (success)"
                           : e.restart_helps       ? "yes"
                                                   : "no (`RestartPreventExitStatus=`)");
    return out;
}

std::string troubleshooting_markdown() {
    std::string out = "| exit code | what to do |\n|---|---|\n";
    for (const auto& e : exit_code_table())
        out += fmt::format("| {} | {} |\n", to_int(e.code), md(e.remedy));
    return out;
}

std::string restart_prevent_exit_status() {
    std::string out;
    for (const auto& e : exit_code_table()) {
        // Restart=on-failure never restarts after 0, so it need not be listed.
        if (e.restart_helps || e.code == exit_code::ok) continue;
        if (!out.empty()) out += ' ';
        out += std::to_string(to_int(e.code));
    }
    return out;
}

std::string unit_file(std::string_view unit_template) {
    std::string comment;
    for (const auto& e : exit_code_table()) {
        if (e.restart_helps || e.code == exit_code::ok) continue;
        // Continuation lines: "#" and the indentation of the meaning.
        std::string text = config::wrap_text(e.meaning, 8, 96);
        for (auto nl = text.find('\n'); nl != std::string::npos; nl = text.find('\n', nl + 1))
            text[nl + 1] = '#';
        comment += fmt::format("#   {:>2}  {}\n", to_int(e.code), text);
    }
    if (!comment.empty()) comment.pop_back();  // the template's line break follows
    std::string out(unit_template);
    const std::pair<std::string_view, std::string> fills[] = {
        {"@RESTART_PREVENT_EXIT_STATUS@", restart_prevent_exit_status()},
        {"@RESTART_PREVENT_COMMENT@", comment},
        {"@VERSION@", sw::version},
    };
    for (const auto& [key, value] : fills) {
        if (out.find(key) == std::string::npos)
            throw std::runtime_error("unit template has no " + std::string(key));
        out = replace_all(std::move(out), key, value);
    }
    return out;
}

std::string man_page() {
    std::string out;
    out += ".\\\" Generated by sw-gen-docs from start-worker's tables; do not edit.\n";
    out += fmt::format(".TH START\\-WORKER 1 \"\" \"start\\-worker {}\" \"User Commands\"\n",
                       roff(sw::version));
    out += ".SH NAME\nstart\\-worker \\- run a Taskcluster worker (worker\\-runner)\n";
    out += ".SH SYNOPSIS\n";
    bool first = true;
    for (const auto& m : config::mode_docs()) {
        if (!first) out += ".br\n";
        first = false;
        out += "\\fBstart\\-worker\\fR " + roff_synopsis(m.synopsis) + "\n";
    }
    out +=
        ".SH DESCRIPTION\n"
        "start\\-worker gets a Taskcluster worker its identity, credentials and configuration "
        "from the cloud provider, worker\\-manager and the secrets service, starts it, talks to "
        "it over the worker\\-runner protocol, renews its credentials, forwards termination "
        "notices, and survives the reboots some workers need. It is a drop\\-in replacement for "
        "the Go start\\-worker: the same runner configuration, protocol and generated worker "
        "configuration.\n"
        ".PP\n"
        "Exactly one mode is given; anything else exits 64 with the usage on standard error. "
        "Only \\fB\\-\\-help\\fR, \\fB\\-\\-version\\fR, \\fB\\-\\-short\\-version\\fR and "
        "\\fB\\-\\-validate\\fR write to standard output; logs go to the destination named by "
        "\\fBlogging.implementation\\fR.\n";
    out += ".SH OPTIONS\n";
    for (const auto& m : config::mode_docs())
        out += ".TP\n" + roff_synopsis(m.synopsis) + "\n" + roff(m.description) + "\n";

    const auto keys = [&](const std::vector<config::key_doc>& ks, std::string_view prefix) {
        for (const auto& k : ks)
            out +=
                fmt::format(".TP\n.B {}{}\n({}, {}) {}\n", roff(prefix), roff(k.key), roff(k.type),
                            k.required ? "required" : "optional", roff(k.description));
    };
    out +=
        ".SH CONFIGURATION\n"
        "The runner configuration is YAML (JSON is YAML). A configuration the Go start\\-worker "
        "accepts works unchanged; unknown keys are ignored with a warning. A key marked required "
        "inside an optional section is required when that section is given.\n";
    keys(config::top_level_docs(), "");
    const auto sections = [&](const std::vector<config::section_doc>& ds, std::string_view title,
                              std::string_view prefix) {
        out += fmt::format(".SS \"{}\"\n", title);
        for (const auto& d : ds) {
            out += fmt::format(".TP\n.B {}\n{}\n", roff(d.name), roff(d.summary));
            if (d.keys.empty()) continue;
            out += ".RS\n";
            keys(d.keys, prefix);
            out += ".RE\n";
        }
    };
    sections(config::provider_docs(), "Providers (provider.providerType)", "provider.");
    sections(config::worker_docs(), "Worker implementations (worker.implementation)", "worker.");

    out += ".SH ENVIRONMENT\n";
    for (const auto& e : config::environment_docs())
        out += ".TP\n.B " + roff(e.name) + "\n" + roff(e.description) + "\n";
    out += ".PP\nThe worker inherits the runner's environment.\n";

    out +=
        ".SH SIGNALS\n"
        "SIGTERM or SIGINT sends the worker graceful\\-termination with finish\\-tasks true; "
        "after \\fBlifecycle.gracefulStopTimeout\\fR or a second signal, finish\\-tasks false; "
        "after \\fBlifecycle.killTimeout\\fR more, the worker is killed. A cloud termination "
        "notice's deadline shortens these.\n";

    out += ".SH \"EXIT STATUS\"\n";
    for (const auto& e : exit_code_table())
        out +=
            fmt::format(".TP\n.B {}\n{}.\n{}\n", to_int(e.code), roff(e.meaning), roff(e.remedy));

    out +=
        ".SH FILES\n"
        ".TP\n.I /etc/start\\-worker.yml\n"
        "The runner configuration the systemd unit uses (mode 0600, owned by root).\n"
        ".TP\n.I /lib/systemd/system/start\\-worker.service\n"
        "The systemd unit: Type=notify with a watchdog; RestartPreventExitStatus=" +
        restart_prevent_exit_status() +
        ".\n"
        ".TP\n.I " +
        roff(config::default_state_path()) +
        "\nThe state file of \\fBcacheOverRestarts: true\\fR.\n"
        ".SH \"SEE ALSO\"\n"
        ".BR systemctl (1),\n.BR journalctl (1),\n.BR systemd.service (5)\n";
    return out;
}

std::vector<readme_block> readme_blocks() {
    return {
        {"usage", usage_markdown()},
        {"config-reference", config_reference_markdown()},
        {"exit-codes", exit_codes_markdown()},
        {"troubleshooting", troubleshooting_markdown()},
    };
}

std::string regenerate_readme(std::string_view readme) {
    std::string out(readme);
    for (const auto& b : readme_blocks()) {
        const std::string start = "<!-- start-" + b.name + " -->\n";
        const std::string end = "<!-- end-" + b.name + " -->";
        const auto s = out.find(start);
        if (s == std::string::npos) throw std::runtime_error("README has no " + start);
        const auto e = out.find(end, s + start.size());
        if (e == std::string::npos) throw std::runtime_error("README has no " + end);
        out.replace(s + start.size(), e - (s + start.size()), b.content);
    }
    return out;
}

}  // namespace sw::docs
