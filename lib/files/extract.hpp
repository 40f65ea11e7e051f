#pragma once
// Worker files (reference section 8): base64 "file" and "zip" formats, extracted before the
// worker starts. Every item is validated and decoded before anything is written; zip entries
// that would escape the destination (../, absolute paths, symlinks) are refused.
#include "state/run_state.hpp"

#include <vector>

namespace sw::files {

/// Extracts every file, in order. Throws
/// std::runtime_error("error extracting file <path>: <why>") on the first bad item; the caller
/// reports it and does not start the worker.
void extract_all(const std::vector<worker_file>& files);

}  // namespace sw::files
