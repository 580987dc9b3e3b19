/**
 * The ipywidgets module name and version the Python `Video` widget refers to
 * (`_model_module = "jupyter-classroom"`, `_model_module_version = "^0.1.0"`).
 */
export const MODULE_NAME = 'jupyter-classroom';
export const MODULE_VERSION = '0.1.0';
