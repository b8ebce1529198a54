// EncodeClusterText: the JSON text of EncodeCluster(cluster, form), byte for
// byte, written directly instead of through nlohmann's DOM.
//
// Why: the DOM costs ~45-55 ms of CPU for a 20,000-node cluster, and every
// new version of a cluster is encoded once by the leader (stored form) and
// once per instance that serves it (full and JCM forms, GET /c and /sub).
// Writing the nodes directly takes ~1 ms. The cluster's own fields still go
// through nlohmann (a few keys), so the two encoders cannot drift apart on
// them; the node keys are written in nlohmann's sorted order.
//
// Strings: printable ASCII without '"' or '\' is copied as is; any other
// string goes through nlohmann's escaping, with `invalid_utf8` deciding as
// nlohmann's error handler does (kStrict throws nlohmann's type_error, as
// dump() does; kReplace writes U+FFFD, as the API's DumpJson does).
//
// Thread-safety: pure functions.
#pragma once

#include <string>

#include "model/cluster.h"
#include "model/cluster_codec.h"

namespace jcm {

enum class InvalidUtf8 { kStrict, kReplace };

std::string EncodeClusterText(const Cluster& cluster, ClusterJsonForm form,
                              InvalidUtf8 invalid_utf8);

// Appends EncodeNode(node, form).dump() to `out`: one element of the
// "nodes" array EncodeClusterText writes (storage/ writes bucket znodes of
// large clusters as arrays of these).
void AppendNodeText(const Node& node, ClusterJsonForm form, InvalidUtf8 invalid_utf8,
                    std::string* out);

}  // namespace jcm
