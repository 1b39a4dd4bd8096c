import type { CommitSamples } from '../../src/tracking/changes/detect.ts';
import type { Direction } from '../../src/tracking/formats/normalized.ts';

/** One labelled series of the evaluation set. */
export interface LabelledSeries {
  name: string;
  /** Scored separately: a synthetic case (`step`, `drift`, …) or a real source folder (`real/otava`, …). */
  category: string;
  commits: CommitSamples[];
  direction: Direction | null;
  /** Indices into `commits` where a new regime begins. */
  changePoints: number[];
  /** Inclusive index ranges where the labels are ambiguous: detections there are neither right nor wrong. */
  ignore: [number, number][];
}
