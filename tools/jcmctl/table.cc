#include "tools/jcmctl/table.h"

#include <algorithm>

namespace jcm::ctl {
namespace {

const char* Escape(Color color) {
  switch (color) {
    case Color::kGreen:
      return "\x1b[32m";
    case Color::kRed:
      return "\x1b[31m";
    case Color::kYellow:
      return "\x1b[33m";
    case Color::kDim:
      return "\x1b[2m";
    case Color::kNone:
      break;
  }
  return "";
}

constexpr const char* kReset = "\x1b[0m";
constexpr const char* kBold = "\x1b[1m";

}  // namespace

size_t DisplayWidth(std::string_view text) {
  size_t n = 0;
  for (unsigned char c : text) n += (c & 0xC0) != 0x80;
  return n;
}

std::string Colorize(std::string_view text, Color color) {
  if (color == Color::kNone) return std::string(text);
  return std::string(Escape(color)) + std::string(text) + kReset;
}

Table::Table(std::vector<std::string> headers)
    : headers_(std::move(headers)), right_(headers_.size(), false) {}

void Table::AlignRight(size_t index) {
  if (index < right_.size()) right_[index] = true;
}

void Table::AddRow(std::vector<Cell> cells) {
  cells.resize(std::max(cells.size(), headers_.size()), Cell(""));
  rows_.push_back(std::move(cells));
}

std::string Table::Render(bool color) const {
  const size_t ncol = headers_.size();
  std::vector<size_t> width(ncol, 0);
  for (size_t c = 0; c < ncol; ++c) {
    width[c] = DisplayWidth(headers_[c]);
    for (const auto& row : rows_) width[c] = std::max(width[c], DisplayWidth(row[c].text));
  }
  std::string out;
  auto emit = [&](size_t c, const std::string& text, bool colored, const std::string& prefix) {
    const size_t pad = width[c] - DisplayWidth(text);
    const bool last = c + 1 == ncol;
    if (c > 0) out += "  ";
    if (right_[c]) out.append(pad, ' ');
    out += colored ? prefix + text + kReset : text;
    if (!right_[c] && !last) out.append(pad, ' ');
  };
  // An empty last cell would leave the separator behind.
  auto end_line = [&] {
    while (!out.empty() && out.back() == ' ') out.pop_back();
    out += '\n';
  };
  for (size_t c = 0; c < ncol; ++c) emit(c, headers_[c], color, kBold);
  end_line();
  for (const auto& row : rows_) {
    for (size_t c = 0; c < ncol; ++c) {
      const Cell& cell = row[c];
      emit(c, cell.text, color && cell.color != Color::kNone, Escape(cell.color));
    }
    end_line();
  }
  return out;
}

}  // namespace jcm::ctl
