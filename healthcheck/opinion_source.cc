#include "healthcheck/opinion_source.h"

namespace jcm {

const char* ToString(OpinionVerdict verdict) {
  switch (verdict) {
    case OpinionVerdict::kReachable:
      return "reachable";
    case OpinionVerdict::kUnreachable:
      return "unreachable";
    case OpinionVerdict::kNoAnswer:
      break;
  }
  return "no-answer";
}

}  // namespace jcm
