/** @jsxImportSourceTypes @types/react */
/**
 * A section title drawn as a rule: `─ workers ─────────`.
 *
 * @module
 */

import { Text } from "ink";

/** Props of `SectionTitle`. */
export interface SectionTitleProps {
  readonly title: string;
  /** Extra text after the title, e.g. a current value. */
  readonly detail?: string;
  readonly width: number;
}

/** A dim rule across the width with the title (bold) and detail in it. */
export function SectionTitle({ title, detail, width }: SectionTitleProps) {
  const label = detail ? `─ ${title}  ${detail} ` : `─ ${title} `;
  const rule = "─".repeat(Math.max(0, width - [...label].length));
  return (
    <Text wrap="truncate">
      <Text dimColor>─</Text>
      <Text bold>{` ${title} `}</Text>
      {detail ? <Text>{` ${detail} `}</Text> : null}
      <Text dimColor>{rule}</Text>
    </Text>
  );
}
