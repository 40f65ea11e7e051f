#pragma once
// Windows entry points (compiled only for WIN32): --install-service, --uninstall-service,
// running under the service control manager, and console control events.
namespace sw::daemon {

/// The platform-neutral main: argv handling and the run.
using main_function = int (*)(int argc, char** argv);

/// Windows' main(). `--install-service <runnerConfig>` registers the start-worker service
/// (after validating the config: an invalid one is exit 78 and nothing is installed);
/// `--uninstall-service` stops and deletes it. Started by the SCM (parent services.exe), it runs
/// `run` with the process's own argv inside StartServiceCtrlDispatcherW: STOP -> SIGTERM (the
/// graceful stop; a second STOP -> finish-tasks false), PRESHUTDOWN/SHUTDOWN -> two SIGTERMs
/// (finish-tasks false at once), SERVICE_STOP_PENDING with wait hints until `run` returns,
/// then SERVICE_STOPPED with its exit code. Otherwise (a console) it calls `run` with Ctrl-C
/// -> SIGINT and Ctrl-Break / console close / logoff / shutdown -> SIGTERM.
int windows_main(int argc, char** argv, main_function run);

}  // namespace sw::daemon
