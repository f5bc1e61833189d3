import { python } from '@codemirror/lang-python';
import { Prec, StateEffect, StateField, type Extension } from '@codemirror/state';
import { Decoration, EditorView, keymap, type DecorationSet } from '@codemirror/view';
import { basicSetup } from 'codemirror';

/** Marks one line (1-based) as the failing one, or clears the mark (null). */
const markFailingLine = StateEffect.define<number | null>();

const failingLine = StateField.define<DecorationSet>({
  create: () => Decoration.none,
  update(marks, transaction) {
    // An edit moves the mark with its line; a new mark replaces it.
    let next = marks.map(transaction.changes);
    for (const effect of transaction.effects) {
      if (!effect.is(markFailingLine)) continue;
      const line = effect.value;
      next =
        line !== null && line >= 1 && line <= transaction.state.doc.lines
          ? Decoration.set([
              Decoration.line({ class: 'cm-failing-line' }).range(
                transaction.state.doc.line(line).from,
              ),
            ])
          : Decoration.none;
    }
    return next;
  },
  provide: (field) => EditorView.decorations.from(field),
});

/** The code editor: Python highlighting, line numbers, Ctrl/Cmd+Enter runs. */
export class CodeEditor {
  private readonly view: EditorView;

  constructor(parent: HTMLElement, doc: string, onRun: () => void, onEdit: () => void) {
    const runKey: Extension = Prec.highest(
      keymap.of([{ key: 'Mod-Enter', run: () => (onRun(), true) }]),
    );
    this.view = new EditorView({
      parent,
      doc,
      extensions: [
        basicSetup,
        python(),
        failingLine,
        runKey,
        EditorView.updateListener.of((update) => {
          if (update.docChanged) onEdit();
        }),
      ],
    });
  }

  get code(): string {
    return this.view.state.doc.toString();
  }

  set code(text: string) {
    this.view.dispatch({
      changes: { from: 0, to: this.view.state.doc.length, insert: text },
      effects: markFailingLine.of(null),
    });
  }

  /** Marks the line the code failed at and scrolls to it; null clears the mark. */
  markFailingLine(line: number | null): void {
    const inDoc = line !== null && line >= 1 && line <= this.view.state.doc.lines;
    this.view.dispatch({
      effects: [
        markFailingLine.of(inDoc ? line : null),
        ...(inDoc
          ? [EditorView.scrollIntoView(this.view.state.doc.line(line).from, { y: 'center' })]
          : []),
      ],
    });
  }
}
