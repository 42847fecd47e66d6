"""Version numbers of the framework and of the plugin contract it speaks."""

__version__ = "0.1.0"

#: The version of the hook contract. A plugin is compatible when its declared
#: ``floe_api_version`` has the same MAJOR and a MINOR no newer than this one.
FLOE_API_VERSION = "1.1"
