// Table: aligned text columns for jcmctl's table output.
//
// Columns are separated by two spaces and padded to their widest cell
// (counted in UTF-8 code points, so udata like "zone=é" keeps alignment);
// the last column is not padded, so lines carry no trailing blanks. With
// colour on, the header is bold and a cell may carry a colour; the escape
// codes are added after padding, so they never disturb alignment.
//
// Thread-safety: a plain value; not thread-safe for concurrent mutation.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace jcm::ctl {

enum class Color { kNone, kGreen, kRed, kYellow, kDim };

struct Cell {
  Cell(std::string t, Color c = Color::kNone) : text(std::move(t)), color(c) {}  // NOLINT
  Cell(const char* t, Color c = Color::kNone) : text(t), color(c) {}             // NOLINT
  std::string text;
  Color color;
};

class Table {
 public:
  explicit Table(std::vector<std::string> headers);

  // Right-align column `index` (counts read better that way).
  void AlignRight(size_t index);
  // A row with fewer cells than headers is padded with empty cells.
  void AddRow(std::vector<Cell> cells);
  size_t rows() const { return rows_.size(); }

  // Every line ends with '\n'.
  std::string Render(bool color) const;

 private:
  std::vector<std::string> headers_;
  std::vector<bool> right_;
  std::vector<std::vector<Cell>> rows_;
};

// The text wrapped in the ANSI escape of `color` (or unchanged for kNone).
std::string Colorize(std::string_view text, Color color);
// Code points in a UTF-8 string (bytes that are not continuation bytes).
size_t DisplayWidth(std::string_view text);

}  // namespace jcm::ctl
