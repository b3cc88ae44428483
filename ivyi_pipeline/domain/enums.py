"""The enumerations of the seed's schema (depths, kinds, steps, intents, intensities)."""

from enum import StrEnum


class RelationshipDepth(StrEnum):
    """How close a giver is to a recipient; the seed's giftRelationshipDepthEnum."""

    ACQUAINTANCE = "ACQUAINTANCE"
    FRIEND = "FRIEND"
    CLOSE_FRIEND = "CLOSE_FRIEND"
    FAMILY = "FAMILY"
    PARTNER = "PARTNER"


class OccasionKind(StrEnum):
    """What is being celebrated."""

    BIRTHDAY = "BIRTHDAY"
    ANNIVERSARY = "ANNIVERSARY"
    HOLIDAY = "HOLIDAY"
    GRADUATION = "GRADUATION"
    OTHER = "OTHER"


class GiftProcessStep(StrEnum):
    """The seed's giftProcessStepEnum: how much of the giver's intent has been gathered."""

    INTENT_LEVEL_1 = "INTENT_LEVEL_1"
    INTENT_LEVEL_2 = "INTENT_LEVEL_2"
    INTENT_LEVEL_3 = "INTENT_LEVEL_3"


class GiftIntent(StrEnum):
    """The seed's giftIntentEnum: why the giver gives."""

    CELEBRATE = "CELEBRATE"
    APPRECIATE = "APPRECIATE"
    SUPPORT = "SUPPORT"
    APOLOGIZE = "APOLOGIZE"


class SignalIntensity(StrEnum):
    """The seed's giftSignalIntensityEnum: how strong a signal the gift should send."""

    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"


class InboxKind(StrEnum):
    """External events that later steps read from the inbox."""

    CONFIRMATION = "CONFIRMATION"
    SHIPPED = "SHIPPED"
    DELIVERED = "DELIVERED"
