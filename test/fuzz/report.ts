/** Text of a run: the summary by route and status, and findings grouped by class and problem. */
import type { Finding, RunReport } from './runner.ts';

export function summaryTable(report: RunReport): string {
  const labels = new Set<string>();
  for (const counts of report.byRoute.values()) for (const label of counts.keys()) labels.add(label);
  const columns = [...labels].sort((a, b) => (Number(a) || 1000) - (Number(b) || 1000) || a.localeCompare(b));
  const routes = [...report.byRoute.keys()].sort();
  const width = Math.max(5, ...routes.map((route) => route.length));
  const lines = [`${'route'.padEnd(width)} ${columns.map((label) => label.padStart(7)).join(' ')}   total`];
  for (const route of routes) {
    const counts = report.byRoute.get(route)!;
    const total = [...counts.values()].reduce((sum, value) => sum + value, 0);
    lines.push(`${route.padEnd(width)} ${columns.map((label) => String(counts.get(label) ?? '').padStart(7)).join(' ')}   ${total}`);
  }
  return lines.join('\n');
}

export function groupFindings(findings: readonly Finding[]): Map<string, Finding[]> {
  const groups = new Map<string, Finding[]>();
  for (const finding of findings) {
    const key = `${finding.klass} — ${finding.problem.replace(/\d{3,}/g, 'N')}`;
    groups.set(key, [...(groups.get(key) ?? []), finding]);
  }
  return groups;
}

export function describeRun(report: RunReport): string {
  const lines = [
    `fuzz seed ${report.seed}: ${report.ran} cases run (${report.skipped} excluded) in ${(report.durationMs / 1000).toFixed(1)} s`,
    `${report.findings.length} findings in ${groupFindings(report.findings).size} groups; after-run audit: ${report.audit.length} problems`,
    '',
    summaryTable(report),
  ];
  if (report.findings.length > 0) {
    lines.push('', 'findings (class — problem: count; first cases):');
    for (const [key, group] of groupFindings(report.findings)) {
      lines.push(`  ${key}: ${group.length}`);
      for (const finding of group.slice(0, 2)) {
        lines.push(`    case ${finding.index} [${finding.actor}] ${finding.route} → ${finding.status}: ${finding.detail.slice(0, 160)}`);
        lines.push(`      body: ${finding.body.replace(/\s+/g, ' ').slice(0, 200)}`);
      }
    }
  }
  if (report.audit.length > 0) {
    lines.push('', 'after-run audit:');
    for (const problem of report.audit.slice(0, 40)) lines.push(`  ${problem}`);
    if (report.audit.length > 40) lines.push(`  … and ${report.audit.length - 40} more`);
  }
  if (report.missing.length > 0) lines.push('', `note: ${report.missing.length} plain ids held by clients are in no store: ${report.missing.slice(0, 5).join(', ')}`);
  lines.push('', `replay: FUZZ_SEED=${report.seed} (same cases); one case: npm run fuzz -- --seed ${report.seed} --only <index>`);
  return lines.join('\n');
}

/** Same problem, same answer (status and error code): likely one root cause across classes. */
export function signatureOf(finding: Finding): string {
  let code = finding.body.slice(0, 60);
  try {
    const parsed = JSON.parse(finding.body) as { error?: { code?: unknown } | string; code?: unknown; message?: unknown };
    code = String((typeof parsed.error === 'object' ? parsed.error?.code : undefined) ?? parsed.code ?? parsed.message ?? parsed.error ?? '');
  } catch {
    // Not JSON (or cut at 300 bytes): the first bytes say enough.
  }
  return `${finding.problem.replace(/\d{3,}/g, 'N')} | ${finding.status} ${code}`;
}

/** Markdown for FUZZ-FINDINGS.md: one section per group with its first cases. */
export function findingsMarkdown(report: RunReport, command: string): string {
  const lines = [
    `## Run seed ${report.seed} — ${report.ran} cases, ${report.findings.length} findings, ${report.audit.length} audit problems`,
    '',
    `Command: \`${command}\``,
    '',
    '```',
    summaryTable(report),
    '```',
    '',
  ];
  const causes = new Map<string, Finding[]>();
  for (const finding of report.findings) causes.set(signatureOf(finding), [...(causes.get(signatureOf(finding)) ?? []), finding]);
  lines.push('Likely root causes (problem | status code), with the case classes showing them:', '');
  for (const [signature, group] of [...causes].sort((a, b) => b[1].length - a[1].length)) {
    const classes = [...new Set(group.map((finding) => finding.klass))];
    lines.push(`- **${signature}** × ${group.length}: ${classes.join(', ')} (e.g. case ${group[0]!.index})`);
  }
  lines.push('');
  for (const [key, group] of groupFindings(report.findings)) {
    lines.push(`### ${key} (${group.length})`);
    for (const finding of group.slice(0, 3)) {
      lines.push(`- case ${finding.index}, seed ${finding.seed}, actor ${finding.actor}, ${finding.route} → **${finding.status}**: ${finding.detail.slice(0, 200)}`);
      lines.push(`  - sent: \`${finding.sent.slice(0, 240).replace(/`/g, "'")}\``);
      lines.push(`  - body: \`${finding.body.replace(/\s+/g, ' ').slice(0, 240).replace(/`/g, "'")}\``);
    }
    lines.push('');
  }
  if (report.audit.length > 0) {
    lines.push('### After-run audit (orphans, half rows, crash)');
    for (const problem of report.audit.slice(0, 60)) lines.push(`- ${problem}`);
    if (report.audit.length > 60) lines.push(`- … and ${report.audit.length - 60} more`);
    lines.push('');
  }
  return lines.join('\n');
}
