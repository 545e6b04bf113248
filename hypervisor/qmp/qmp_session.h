// QmpSession: one client's protocol state — capability negotiation, the
// request envelope (execute / exec-oob / arguments / id) and the reply
// envelope — independent of sockets so it can be tested on strings.
#pragma once

#include <string>
#include <string_view>

#include "hypervisor/qmp/json_splitter.h"
#include "hypervisor/qmp/qmp_commands.h"
#include "hypervisor/qmp/qmp_json.h"

namespace vmm::qmp {

class QmpSession {
 public:
  explicit QmpSession(QmpCommands& commands, size_t max_request = size_t{1} << 20)
      : commands_(commands), splitter_(max_request) {}

  // The line sent on connect (without the line terminator).
  static std::string greeting();

  // Handles one request text (as delimited by splitter()) and returns the
  // reply line without its terminator.
  std::string handle(std::string_view text);

  JsonSplitter& splitter() { return splitter_; }
  // Events reach a client only after qmp_capabilities, as with QEMU.
  bool negotiated() const { return negotiated_; }

 private:
  Result<Json> dispatch(const Json& request, std::string_view& error_class);
  Result<Json> qmp_capabilities(const Json& args);

  QmpCommands& commands_;
  JsonSplitter splitter_;
  bool negotiated_ = false;
  bool oob_ = false;  // the client enabled out-of-band execution
};

// Reply envelopes, in QEMU 7.2's key order. `id` is echoed when present.
std::string return_line(const Json& value, const Json* id);
std::string error_line(std::string_view error_class, std::string_view desc, const Json* id);

}  // namespace vmm::qmp
