// When a bar renders: at the next animation frame, at most once per frame however many messages
// arrived, and never while the page is hidden — a background tab keeps its rows current (cheap) and
// renders once when it is shown again. The document and its frames are passed in, so the rule is
// unit-tested; tests/e2e/test_feed_bar.py checks it in Chromium, in a tab behind another.

export interface FrameHost {
  hidden(): boolean;
  requestFrame(callback: () => void): number;
  cancelFrame(id: number): void;
}

export class FrameScheduler {
  private frame: number | null = null;
  private stale = false;

  constructor(
    private readonly host: FrameHost,
    private readonly render: () => void,
  ) {}

  /** Something changed: render at the next frame, if the page is shown. */
  schedule(): void {
    this.stale = true;
    if (this.host.hidden() || this.frame !== null) return;
    this.frame = this.host.requestFrame(() => {
      this.frame = null;
      this.stale = false;
      this.render();
    });
  }

  /** The page's visibility changed: a page shown again renders what it missed. */
  visibilityChanged(): void {
    if (!this.host.hidden() && this.stale) this.schedule();
  }

  cancel(): void {
    if (this.frame !== null) this.host.cancelFrame(this.frame);
    this.frame = null;
  }
}
