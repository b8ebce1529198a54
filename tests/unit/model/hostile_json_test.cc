// Hostile JSON against the model's codec: every input ends in a Status,
// bounded in time, memory and stack, and the messages stay short.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "model/cluster_codec.h"
#include "model/limits.h"
#include "model/validation.h"

namespace jcm {
namespace {

using nlohmann::json;

std::string Nested(size_t depth, char open = '[', char close = ']') {
  return std::string(depth, open) + std::string(depth, close);
}

// A value nested `depth` arrays deep, built without parsing (the parser
// refuses such text now) and without recursion.
json DeepArray(size_t depth) {
  json v = json::array();
  for (size_t i = 0; i < depth; ++i) {
    json outer = json::array();
    outer.push_back(std::move(v));
    v = std::move(outer);
  }
  return v;
}

Status DecodeText(const std::string& text, Cluster* c) {
  json doc;
  Status s = ParseJsonText(text, &doc);
  if (!s.ok()) return s;
  return DecodeCluster(doc, c);
}

TEST(ParseJsonText, NumberBeyondDoubleIsInvalidArgument) {
  for (const char* text : {"1e400", "-1e400", "[1e400]", R"({"name":"a","intervalMs":1e400})",
                           R"({"name":"a","nodes":[{"ip":"10.0.0.1","weight":1e999}]})"}) {
    json doc;
    Status s = ParseJsonText(text, &doc);
    ASSERT_FALSE(s.ok()) << text;
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << text;
    EXPECT_NE(s.message().find("number out of range"), std::string::npos) << s.message();
  }
}

TEST(ParseJsonText, NestingUpToTheLimitParses) {
  json doc;
  ASSERT_TRUE(ParseJsonText(Nested(limits::kMaxJsonDepth), &doc).ok());
  std::string mixed;
  for (size_t i = 0; i < limits::kMaxJsonDepth / 2; ++i) mixed += R"({"a":[)";
  for (size_t i = 0; i < limits::kMaxJsonDepth / 2; ++i) mixed += "]}";
  EXPECT_TRUE(ParseJsonText(mixed, &doc).ok());
}

TEST(ParseJsonText, NestingPastTheLimitIsRefusedBeforeParsing) {
  json doc;
  Status s = ParseJsonText(Nested(limits::kMaxJsonDepth + 1), &doc);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("body: nested deeper than 64"), std::string::npos) << s.message();

  // 100,000 levels (the POST /c that crashed the server): refused at once.
  std::string deep = R"({"name":"a","nodes":)" + Nested(100000) + "}";
  auto start = std::chrono::steady_clock::now();
  s = ParseJsonText(deep, &doc);
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("nested deeper than 64"), std::string::npos);
  EXPECT_LT(took, std::chrono::seconds(1));
}

TEST(ParseJsonText, BracketsInsideStringsDoNotCount) {
  json doc;
  std::string text = R"(["\")";
  text.append(1000, '[');
  text += R"(\\", "{{{{"])";
  Status s = ParseJsonText(text, &doc);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_EQ(doc.size(), 2u);
  std::string want(1, '"');
  want.append(1000, '[');
  want.push_back('\\');
  EXPECT_EQ(doc[0].get<std::string>(), want);
}

TEST(ParseJsonText, MalformedStillSaysWhereAndStaysShort) {
  json doc;
  Status s = ParseJsonText("[\"" + std::string(100000, 'x'), &doc);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("malformed JSON at byte"), std::string::npos);
  EXPECT_LT(s.message().size(), 400u);
}

TEST(CheckJsonDepth, CountsOnlyStructuralBrackets) {
  EXPECT_TRUE(CheckJsonDepth("[[]]", 2).ok());
  EXPECT_FALSE(CheckJsonDepth("[[[]]]", 2).ok());
  EXPECT_TRUE(CheckJsonDepth(R"(["[[[[", {"k]]]]": "\"[[["}])", 2).ok());
  // Unbalanced closers never let a later opener through uncounted.
  EXPECT_FALSE(CheckJsonDepth("]]]]][[[", 2).ok());
}

TEST(JsonTextPrefix, SmallValuesMatchDump) {
  json v = json::parse(R"({"a":[1,2.5,{"b":"x\"y"}],"c":null,"d":true,"e":{}})");
  EXPECT_EQ(JsonTextPrefix(v, 1000), v.dump());
  EXPECT_EQ(JsonTextPrefix(json::array(), 10), "[]");
  EXPECT_EQ(JsonTextPrefix(json("s"), 10), "\"s\"");
}

TEST(JsonTextPrefix, LongValuesAreCut) {
  json v = json::array();
  for (int i = 0; i < 100000; ++i) v.push_back(i);
  std::string p = JsonTextPrefix(v, 20);
  EXPECT_EQ(p, v.dump().substr(0, 20) + "...");
  std::string s = JsonTextPrefix(json(std::string(1 << 20, 'z')), 8);
  EXPECT_EQ(s, "\"zzzzzzz...");
  // Never half a character: "\"zzzzzz" is 7 bytes, 'é' would be bytes 8-9.
  s = JsonTextPrefix(json("zzzzzz\xc3\xa9zzzz"), 8);
  EXPECT_EQ(s, "\"zzzzzz...");
}

TEST(JsonTypeError, DeepValueIsSummarisedWithoutRecursion) {
  // nlohmann's dump() of this recursed 100,000 deep and overflowed the stack.
  json deep = DeepArray(100000);
  Status s = JsonTypeError("nodes[0]", deep, "an object");
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("nodes[0]: expected an object, got array of 1 element '[[[["),
            std::string::npos)
      << s.message();
  EXPECT_LT(s.message().size(), 200u);
}

TEST(DecodeCluster, DeeplyNestedNodesAreATypeError) {
  json doc = {{"name", "a"}};
  json nodes = json::array();
  nodes.push_back(DeepArray(100000));
  doc["nodes"] = std::move(nodes);
  Cluster c;
  Status s = DecodeCluster(doc, &c);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("nodes[0]: expected an object, got array"), std::string::npos)
      << s.message();
}

TEST(DecodeCluster, OkCodesOutsideHttpRangeAreRefusedNotTruncated) {
  struct Case {
    const char* codes;
    const char* expect;
  };
  for (const Case& c : {Case{"[4294967496]", "okCodes[0]: 4294967496 is out of range 100-599"},
                        Case{"[200, 600]", "okCodes[1]: 600 is out of range 100-599"},
                        Case{"[99]", "okCodes[0]: 99 is out of range 100-599"},
                        Case{"[-200]", "okCodes[0]: -200 is out of range 100-599"},
                        Case{"[18446744073709551615]", "okCodes[0]: 18446744073709551615 is out"},
                        Case{R"(["200"])", "okCodes[0]: expected an integer"},
                        Case{"[200.0]", "okCodes[0]: expected an integer"}}) {
    Cluster cluster;
    Status s = DecodeText(std::string(R"({"name":"a","okCodes":)") + c.codes + "}", &cluster);
    ASSERT_FALSE(s.ok()) << c.codes;
    EXPECT_NE(s.message().find(c.expect), std::string::npos) << s.message();
  }
  Cluster cluster;
  ASSERT_TRUE(DecodeText(R"({"name":"a","okCodes":[100,599]})", &cluster).ok());
  EXPECT_EQ(cluster.check.ok_codes, (std::vector<int>{100, 599}));
}

TEST(DecodeCluster, TooManyNodesRefusedBeforeDecodingThem) {
  json doc = {{"name", "a"}, {"nodes", json::array()}};
  for (size_t i = 0; i <= limits::kMaxNodesPerCluster; ++i) doc["nodes"].push_back(nullptr);
  Cluster c;
  Status s = DecodeCluster(doc, &c);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("nodes: 100001 nodes is more than 100000"), std::string::npos)
      << s.message();
  std::vector<Node> list;
  s = DecodeNodeList(doc["nodes"], &list);
  EXPECT_NE(s.message().find("nodes: 100001 nodes is more than 100000"), std::string::npos)
      << s.message();
}

TEST(DecodeCluster, WrongTypesEverywhereAreStatuses) {
  const char* kBodies[] = {
      "null",
      "\"a\"",
      R"({"name":["a"]})",
      R"({"name":"a","nodes":[[]]})",
      R"({"name":"a","nodes":[{"ip":1,"protos":[]}]})",
      R"({"name":"a","nodes":[{"ip":"10.0.0.1","protos":[{"port":1e10,"proto":"HTTP"}]}]})",
      R"({"name":"a","nodes":[{"ip":"10.0.0.1","protos":[{"port":80,"proto":{}}]}]})",
      R"({"name":"a","version":-1})",
      R"({"name":"a","rise":99999999999999999999})",
  };
  for (const char* body : kBodies) {
    Cluster c;
    Status s = DecodeText(body, &c);
    EXPECT_FALSE(s.ok()) << body;
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << body << ": " << s.message();
  }
}

TEST(QuoteForError, LongValuesAreCutOnACharacterBoundary) {
  std::string value = std::string(63, 'a') + "\xc3\xa9" + std::string(100, 'b');  // 'é' at 63-64
  EXPECT_EQ(QuoteForError(value), "'" + std::string(63, 'a') + "...' (165 characters)");
  EXPECT_NO_THROW(json(QuoteForError(value)).dump());
}

TEST(QuoteForError, ControlCharactersAreEscapedSoALogLineCannotBeForged) {
  EXPECT_EQ(QuoteForError("a\nlevel=error event=forged\r\x01"),
            "'a\\x0alevel=error event=forged\\x0d\\x01'");
  Cluster c;
  Status s = DecodeText(R"({"name":"a\nb"})", &c);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message().find('\n'), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("'a\\x0ab'"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace jcm
