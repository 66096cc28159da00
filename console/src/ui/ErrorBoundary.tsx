/** Keeps one panel's failure (a refused query) from taking the whole page down. */
import { Component, type ReactNode } from "react";
import { describeError } from "../errors.js";

export class ErrorBoundary extends Component<{ children: ReactNode; resetKey?: unknown }, { error: unknown }> {
  override state = { error: null as unknown };
  static getDerivedStateFromError(error: unknown) {
    return { error };
  }
  override componentDidUpdate(prev: { resetKey?: unknown }) {
    if (prev.resetKey !== this.props.resetKey && this.state.error) this.setState({ error: null });
  }
  override render() {
    if (this.state.error) {
      return (
        <div className="notice danger" role="alert" data-testid="panel-error">
          {describeError(this.state.error)}
        </div>
      );
    }
    return this.props.children;
  }
}
