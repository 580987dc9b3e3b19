import './base.css';
import './breakouts.css';
import './board-widget.css';
