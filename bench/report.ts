/** The stdout table and the SVG chart. */
import type { Measured } from "./harness.js";

const nf = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

export function fmtUs(ns: number): string {
  const us = ns / 1000;
  return us >= 100 ? us.toFixed(0) : us >= 10 ? us.toFixed(1) : us.toFixed(2);
}

export function table(headers: string[], rows: string[][], align: Array<"l" | "r"> = []): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => ((align[i] ?? (i === 0 ? "l" : "r")) === "l" ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [line(headers), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

export function opsTable(measured: Measured[], relativeTo?: Measured): string {
  const rows = measured.map((m) => [
    m.label,
    fmtUs(m.ns),
    nf.format(m.opsPerSec),
    fmtUs(m.cpuNs),
    relativeTo ? (relativeTo.ns / m.ns).toFixed(2) + "×" : "",
  ]);
  return table(["operation", "µs/op", "ops/s", "cpu µs/op", relativeTo ? `speed vs ${relativeTo.label}` : ""], rows);
}

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

export interface ChartPanel {
  title: string;
  bars: Array<{ label: string; opsPerSec: number; kind: "tempid" | "floor" | "peer" }>;
}

/** Horizontal bars, one panel per operation, ops/s on a linear scale; the footer says where and when. */
export function chartSvg(title: string, panels: ChartPanel[], footer: string[]): string {
  const width = 860;
  const labelW = 300;
  const barMax = width - labelW - 150;
  const barH = 18;
  const gap = 6;
  const colors = { tempid: "#2563eb", floor: "#9ca3af", peer: "#f59e0b" };
  let y = 44;
  const parts: string[] = [];
  parts.push(`<text x="16" y="26" font-size="17" font-weight="600">${esc(title)}</text>`);
  for (const panel of panels) {
    y += 14;
    parts.push(`<text x="16" y="${y}" font-size="14" font-weight="600">${esc(panel.title)}</text>`);
    y += 10;
    const max = Math.max(...panel.bars.map((b) => b.opsPerSec));
    for (const bar of panel.bars) {
      const w = Math.max(1, (bar.opsPerSec / max) * barMax);
      parts.push(
        `<text x="${labelW - 8}" y="${y + 13}" font-size="12" text-anchor="end">${esc(bar.label)}</text>`,
        `<rect x="${labelW}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="${colors[bar.kind]}" rx="2"/>`,
        `<text x="${(labelW + w + 6).toFixed(1)}" y="${y + 13}" font-size="12">${nf.format(bar.opsPerSec)}/s</text>`,
      );
      y += barH + gap;
    }
  }
  y += 8;
  const legend = [["tempid", colors.tempid], ["crypto floor (no token work)", colors.floor], ["peer library", colors.peer]] as const;
  let x = 16;
  for (const [name, color] of legend) {
    parts.push(`<rect x="${x}" y="${y}" width="12" height="12" fill="${color}"/>`, `<text x="${x + 17}" y="${y + 11}" font-size="12">${esc(name)}</text>`);
    x += 40 + name.length * 7;
  }
  y += 26;
  for (const line of footer) {
    parts.push(`<text x="16" y="${y}" font-size="11" fill="#4b5563">${esc(line)}</text>`);
    y += 15;
  }
  const height = y + 6;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, sans-serif">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    ...parts,
    `</svg>`,
    "",
  ].join("\n");
}
