import './base.css';
import './breakouts.css';
import './board-widget.css';
import './notebook-share.css';
